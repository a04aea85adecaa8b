import { sql, type Kysely } from 'kysely';

/**
 * What keeps the read endpoints' cost flat as the tables grow to millions of rows:
 *
 * - trigram (pg_trgm) GIN indexes for the `q` searches, which are `ILIKE '%text%'` on products'
 *   name and SKU and users' email and name: a B-tree cannot serve a pattern with a leading `%`;
 * - the users list's order (`created_at desc, id desc`), which had no index (a full sort per page),
 *   and the products list's over active products (a partial index: a deep page is skipped in it);
 * - `table_counts`, the number of products (all, and active) and of users, kept by triggers, so an
 *   unfiltered list's `total` is one row read instead of a count over the whole table. Inserts and
 *   deletes are counted per statement (transition tables), so a bulk insert updates the count once;
 *   a product's `active` flag is counted per row, only when it changes (not on stock updates).
 *
 * Migrations run in a transaction, so the indexes are built without CONCURRENTLY and block writes
 * to products and users while they build. On a large table, create them first by hand with
 * `create index concurrently` under the same names: this migration then skips them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);
  for (const [name, table, column] of [
    ['products_name_trgm_index', 'products', 'name'],
    ['products_sku_trgm_index', 'products', 'sku'],
    ['users_email_trgm_index', 'users', 'email'],
    ['users_name_trgm_index', 'users', 'name'],
  ] as const) {
    await sql`create index if not exists ${sql.id(name)} on ${sql.id(table)} using gin (${sql.id(column)} gin_trgm_ops)`.execute(
      db,
    );
  }
  await db.schema
    .createIndex('users_created_at_index')
    .ifNotExists()
    .on('users')
    .columns(['created_at', 'id'])
    .execute();
  // The products list's order over active products only, so a deep page is skipped in the index alone.
  await db.schema
    .createIndex('products_active_created_at_index')
    .ifNotExists()
    .on('products')
    .columns(['created_at', 'id'])
    .where(sql.ref('active'), '=', true)
    .execute();

  await db.schema
    .createTable('table_counts')
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('count', 'bigint', (column) => column.notNull().check(sql`count >= 0`))
    .execute();
  await sql`
    insert into table_counts (name, count)
    select 'products', count(*) from products
    union all select 'products_active', count(*) from products where active
    union all select 'users', count(*) from users`.execute(db);

  await sql`
    create function count_product_rows() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        update table_counts set count = count + (select count(*) from new_rows) where name = 'products';
        update table_counts set count = count + (select count(*) from new_rows where active) where name = 'products_active';
      else
        update table_counts set count = count - (select count(*) from old_rows) where name = 'products';
        update table_counts set count = count - (select count(*) from old_rows where active) where name = 'products_active';
      end if;
      return null;
    end $$`.execute(db);
  await sql`
    create function count_active_product_change() returns trigger language plpgsql as $$
    begin
      update table_counts set count = count + (case when new.active then 1 else -1 end) where name = 'products_active';
      return null;
    end $$`.execute(db);
  await sql`
    create function count_user_rows() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        update table_counts set count = count + (select count(*) from new_rows) where name = 'users';
      else
        update table_counts set count = count - (select count(*) from old_rows) where name = 'users';
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger products_counted_on_insert after insert on products
    referencing new table as new_rows for each statement execute function count_product_rows()`.execute(db);
  await sql`create trigger products_counted_on_delete after delete on products
    referencing old table as old_rows for each statement execute function count_product_rows()`.execute(db);
  await sql`create trigger products_active_counted after update of active on products
    for each row when (old.active is distinct from new.active) execute function count_active_product_change()`.execute(
    db,
  );
  await sql`create trigger users_counted_on_insert after insert on users
    referencing new table as new_rows for each statement execute function count_user_rows()`.execute(db);
  await sql`create trigger users_counted_on_delete after delete on users
    referencing old table as old_rows for each statement execute function count_user_rows()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [trigger, table] of [
    ['products_counted_on_insert', 'products'],
    ['products_counted_on_delete', 'products'],
    ['products_active_counted', 'products'],
    ['users_counted_on_insert', 'users'],
    ['users_counted_on_delete', 'users'],
  ] as const) {
    await sql`drop trigger if exists ${sql.id(trigger)} on ${sql.id(table)}`.execute(db);
  }
  await sql`drop function if exists count_product_rows(), count_active_product_change(), count_user_rows()`.execute(db);
  await db.schema.dropTable('table_counts').ifExists().execute();
  await db.schema.dropIndex('users_created_at_index').ifExists().execute();
  await db.schema.dropIndex('products_active_created_at_index').ifExists().execute();
  for (const name of [
    'products_name_trgm_index',
    'products_sku_trgm_index',
    'users_email_trgm_index',
    'users_name_trgm_index',
  ]) {
    await db.schema.dropIndex(name).ifExists().execute();
  }
}
