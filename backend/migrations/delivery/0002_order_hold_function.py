"""PostgreSQL only: ``store_order_hold(…)``, the hot end of placing an order (issue 6, docs/adr/0027).

Placing an order used to take its hot rows (the community's escrow account in the ledger, each item's
stock) in separate round trips inside one transaction, and held them until the client's ``COMMIT`` arrived:
four trips between the API and the database per order, during which every other order of the community
waited. The order statement (``store.repository``) now calls this function last, so that the hot rows are
locked only for the rest of that one statement and its commit. In order, as the step-by-step path does:

1. the household's monthly quota: a limited line whose quota row was not taken (``p_limited`` minus
   ``p_taken``) refuses the order with ST002 (DETAIL = the item's id);
2. the points: ``ledger_post`` with the reserve transfer's arguments (skipped when the order costs nothing);
   it raises LG001 (no account yet: the caller opens it and calls again) or LG002 (not enough points) itself;
3. the stock of each line, items in the order given (the caller sorts them by id, the order every writer
   locks items in): a conditional ``UPDATE``; a line the shelf cannot cover refuses the order with ST001
   (DETAIL = the item's id).

Any refusal is an exception, so the whole statement (order, lines, history, audit, quota, ledger) rolls back.
Returns one row per line: the item's stock, held and alert level after the hold, and the quantity held.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

CREATE = r"""
CREATE OR REPLACE FUNCTION store_order_hold(
    p_order bigint, p_store bigint, p_items bigint[], p_qtys int[], p_limited bigint[], p_taken bigint[],
    p_now timestamptz,
    p_reason text, p_actor bigint, p_key text,
    p_street bigint, p_community bigint, p_grid bigint, p_compound bigint,
    p_owner_kinds text[], p_owner_ids bigint[], p_currencies text[], p_amounts bigint[], p_earning boolean[]
) RETURNS TABLE (out_item bigint, out_stock int, out_held int, out_low_stock_at int, out_qty int)
LANGUAGE plpgsql AS $$
DECLARE
    refused bigint;
BEGIN
    SELECT l INTO refused FROM unnest(p_limited) AS l WHERE l <> ALL (p_taken) ORDER BY l LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'order refused: monthly limit of item %', refused
            USING ERRCODE = 'ST002', DETAIL = refused::text;
    END IF;
    IF coalesce(array_length(p_amounts, 1), 0) > 0 THEN
        PERFORM * FROM ledger_post(
            'reserve', p_reason, p_actor, 'order', p_order::text, p_key, NULL,
            p_street, p_community, p_grid, p_compound, p_now,
            p_owner_kinds, p_owner_ids, p_currencies, p_amounts, p_earning, NULL);
    END IF;
    FOR i IN 1 .. array_length(p_items, 1) LOOP
        UPDATE store_item SET stock = stock - p_qtys[i], held = held + p_qtys[i], updated_at = p_now
         WHERE id = p_items[i] AND store_id = p_store AND is_active AND stock >= p_qtys[i]
        RETURNING id, stock, held, low_stock_at, p_qtys[i] INTO out_item, out_stock, out_held,
                  out_low_stock_at, out_qty;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'order refused: not enough stock of item %', p_items[i]
                USING ERRCODE = 'ST001', DETAIL = p_items[i]::text;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$
"""

DROP = "DROP FUNCTION IF EXISTS store_order_hold(bigint, bigint, bigint[], int[], bigint[], bigint[], " \
    "timestamptz, text, bigint, text, bigint, bigint, bigint, bigint, text[], bigint[], text[], bigint[], " \
    "boolean[])"


async def _create(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await _run(schema_editor, CREATE)


async def _drop(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    await _run(schema_editor, DROP)


async def _run(schema_editor, sql: str) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.client.capabilities.dialect != "postgres":
        return  # SQLite places an order statement by statement in one transaction
    if schema_editor.collect_sql:
        schema_editor.collected_sql.append(sql.strip() + ";")
    else:
        await schema_editor.client.execute_script(sql)


class Migration(migrations.Migration):
    dependencies = [("delivery", "0001_initial"), ("ledger", "0004_person_hold_accounts")]

    initial = False

    operations = [ops.RunPython(_create, _drop)]
