"""PostgreSQL only: ``ledger_post(…)``, the posting engine's steps in one server-side call.

It does exactly what ``backend/ledger/posting.py`` does statement by statement on SQLite (claim the key with
INSERT … ON CONFLICT DO NOTHING, one conditional UPDATE … RETURNING per leg in the order given, one INSERT of
the entries with their running balances), but in one round trip instead of six, and atomically by itself: a
refused leg raises SQLSTATE LG001 (DETAIL = the leg's position) and nothing of the call remains. It returns no
rows when the key (or the original of a reversal) was already taken. With ``p_place_leg`` the transfer takes its
place (ancestor ids) from that leg's account, saving the caller a lookup. See docs/adr/0011.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

CREATE = r"""
CREATE OR REPLACE FUNCTION ledger_post(
    p_kind text, p_reason text, p_actor bigint, p_link_type text, p_link_id text, p_key text, p_reverses bigint,
    p_street bigint, p_community bigint, p_grid bigint, p_compound bigint, p_created timestamptz,
    p_owner_kinds text[], p_owner_ids bigint[], p_currencies text[], p_amounts bigint[], p_earning boolean[],
    p_place_leg int
) RETURNS TABLE (out_transfer bigint, out_account bigint, out_balance bigint, out_street bigint,
                out_community bigint, out_grid bigint, out_compound bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    tid bigint;
    aid bigint;
    bal bigint;
    ids bigint[] := '{}';
    bals bigint[] := '{}';
    stamped timestamptz;
BEGIN
    IF p_place_leg IS NOT NULL THEN  -- the transfer takes its place from that leg's (organisation) account
        SELECT street_id, community_id, grid_id, compound_id INTO p_street, p_community, p_grid, p_compound
          FROM ledger_account WHERE owner_kind = p_owner_kinds[p_place_leg] AND owner_id = p_owner_ids[p_place_leg]
           AND currency = p_currencies[p_place_leg];
    END IF;
    INSERT INTO ledger_transfer (kind, reason, actor_id, link_type, link_id, idempotency_key, reverses_id,
                                 street_id, community_id, grid_id, compound_id, created_at)
    VALUES (p_kind, p_reason, p_actor, p_link_type, p_link_id, p_key, p_reverses,
            p_street, p_community, p_grid, p_compound, p_created)
    ON CONFLICT DO NOTHING RETURNING id INTO tid;
    IF tid IS NULL THEN
        RETURN;
    END IF;
    FOR i IN 1 .. array_length(p_amounts, 1) LOOP
        UPDATE ledger_account
           SET balance = balance + p_amounts[i],
               earned = earned + CASE WHEN p_earning[i] THEN p_amounts[i] ELSE 0 END
         WHERE owner_kind = p_owner_kinds[i] AND owner_id = p_owner_ids[i] AND currency = p_currencies[i]
           AND (min_balance IS NULL OR balance + p_amounts[i] >= min_balance)
        RETURNING id, balance INTO aid, bal;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'ledger leg % refused (missing account or below its floor)', i
                USING ERRCODE = 'LG001', DETAIL = i::text;
        END IF;
        ids := ids || aid;
        bals := bals || bal;
    END LOOP;
    stamped := clock_timestamp();
    INSERT INTO ledger_entry (transfer_id, account_id, currency, amount, balance_after, earning, created_at)
    SELECT tid, ids[n], p_currencies[n], p_amounts[n], bals[n], p_earning[n], stamped
      FROM generate_subscripts(p_amounts, 1) AS n ORDER BY n;
    RETURN QUERY SELECT tid, ids[n], bals[n], p_street, p_community, p_grid, p_compound
                   FROM generate_subscripts(p_amounts, 1) AS n ORDER BY n;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS ledger_post(text, text, bigint, text, text, text, bigint, bigint, bigint, bigint, " \
       "bigint, timestamptz, text[], bigint[], text[], bigint[], boolean[], int)"


async def _create(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await _run(schema_editor, CREATE)


async def _drop(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await _run(schema_editor, DROP)


async def _run(schema_editor, sql: str) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.client.capabilities.dialect != "postgres":
        return  # SQLite posts statement by statement (one connection, one writer: nothing to save)
    if schema_editor.collect_sql:
        schema_editor.collected_sql.append(sql.strip() + ";")
    else:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    initial = False

    operations = [ops.RunPython(_create, _drop)]
