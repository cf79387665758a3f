"""PostgreSQL only: ``ledger_post(…)`` judges a refused leg while it still holds the key (issue 4).

In 0002 a refused leg raised LG001 whatever the reason, the call rolled back (freeing the key), and the caller
then read the account to tell "missing" from "below its floor". Between the rollback and that read a
concurrent post with the same key could claim the key, post, and commit: the caller saw that twin's debit in
the balance and answered InsufficientBalance for a key that had just posted, instead of replaying it.

Now the function decides before it lets go of the key, where no post with the same key can have committed (the
key is claimed first, by this call): after a refused UPDATE it reads the account (a fresh snapshot, READ
COMMITTED) and raises

- LG001 (DETAIL = the leg's position) when the account does not exist: the caller opens it and calls again,
  and that call either claims the key or finds the twin that posted meanwhile and replays it;
- LG002 (DETAIL = "<leg> <balance> <min_balance>") when the balance is below the floor: InsufficientBalance;
- and otherwise (opened or credited since the UPDATE's snapshot) tries the UPDATE again, a few times, before
  giving up with LG001 so that the caller calls again.

Same signature, same rows, same statements on the path that posts. See docs/adr/0011.
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

CREATE = r"""
CREATE OR REPLACE FUNCTION ledger_post(
    p_kind text, p_reason text, p_actor bigint, p_link_type text, p_link_id text, p_key text,
    p_reverses bigint,
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
    cur_balance bigint;
    cur_min bigint;
    ids bigint[] := '{}';
    bals bigint[] := '{}';
    stamped timestamptz;
BEGIN
    IF p_place_leg IS NOT NULL THEN  -- the transfer takes its place from that leg's (organisation) account
        SELECT street_id, community_id, grid_id, compound_id INTO p_street, p_community, p_grid, p_compound
          FROM ledger_account
         WHERE owner_kind = p_owner_kinds[p_place_leg] AND owner_id = p_owner_ids[p_place_leg]
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
        aid := NULL;
        FOR attempt IN 1 .. 3 LOOP
            UPDATE ledger_account
               SET balance = balance + p_amounts[i],
                   earned = earned + CASE WHEN p_earning[i] THEN p_amounts[i] ELSE 0 END
             WHERE owner_kind = p_owner_kinds[i] AND owner_id = p_owner_ids[i] AND currency = p_currencies[i]
               AND (min_balance IS NULL OR balance + p_amounts[i] >= min_balance)
            RETURNING id, balance INTO aid, bal;
            EXIT WHEN FOUND;
            -- Refused. Judge why now, while this call holds the key (and the reversed original): no post with
            -- the same key can have committed, so a low balance is not a twin's debit of this very transfer.
            SELECT balance, min_balance INTO cur_balance, cur_min
              FROM ledger_account
             WHERE owner_kind = p_owner_kinds[i] AND owner_id = p_owner_ids[i] AND currency = p_currencies[i];
            IF NOT FOUND THEN
                RAISE EXCEPTION 'ledger leg % refused: no account', i
                    USING ERRCODE = 'LG001', DETAIL = i::text;
            END IF;
            IF cur_min IS NOT NULL AND cur_balance + p_amounts[i] < cur_min THEN
                RAISE EXCEPTION 'ledger leg % refused: below its floor', i
                    USING ERRCODE = 'LG002', DETAIL = format('%s %s %s', i, cur_balance, cur_min);
            END IF;
            -- opened or credited since the UPDATE's snapshot: try again
        END LOOP;
        IF aid IS NULL THEN
            RAISE EXCEPTION 'ledger leg % refused: busy', i USING ERRCODE = 'LG001', DETAIL = i::text;
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


def _previous() -> str:
    """0002's function (frozen there), restored on downgrade."""
    return importlib.import_module("backend.migrations.ledger.0002_post_function").CREATE


async def _create(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await _run(schema_editor, CREATE)


async def _restore(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await _run(schema_editor, _previous())


async def _run(schema_editor, sql: str) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.client.capabilities.dialect != "postgres":
        return  # SQLite posts statement by statement and judges a refusal in the transaction holding the key
    if schema_editor.collect_sql:
        schema_editor.collected_sql.append(sql.strip() + ";")
    else:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_post_function")]

    initial = False

    operations = [ops.RunPython(_create, _restore)]
