import type { Knex } from 'knex';

/**
 * Purchase-order lifecycle and tolerance exceptions (decision 0036):
 * - `purchase_orders` / `purchase_order_lines`: every PO the gateway sent (or the ERP registered),
 *   per partner and number, with each line's ordered, confirmed, shipped and invoiced quantities;
 * - `purchase_order_documents`: the po-acks, ASNs and invoices linked to a PO, with what each
 *   added per line (so a document taken back can be taken off again);
 * - `business_exceptions`: a document outside a partner tolerance (open → assigned → resolved | waived);
 * - `document_holds`: a document a tolerance rule held back from delivery until a person releases or rejects it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('purchase_orders', (t) => {
    t.uuid('id').primary();
    t.text('partner_id').notNullable();
    t.text('po_number').notNullable();
    /** `sent`: rendered and sent by the gateway; `registered`: the ERP sent it another way and told us. */
    t.text('source').notNullable();
    t.uuid('message_id');
    t.text('status').notNullable().defaultTo('ordered');
    t.text('order_date');
    t.text('currency');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['partner_id', 'po_number']);
  });
  await knex.raw('CREATE INDEX purchase_orders_number ON purchase_orders (po_number)');
  await knex.schema.createTable('purchase_order_lines', (t) => {
    t.uuid('po_id').notNullable().references('purchase_orders.id');
    t.text('line_number').notNullable();
    t.integer('position').notNullable();
    t.jsonb('item').notNullable();
    t.text('unit').notNullable();
    t.decimal('unit_price', 18, 6);
    t.decimal('ordered', 18, 6).notNullable();
    t.decimal('confirmed', 18, 6);
    t.text('confirmed_date');
    t.decimal('shipped', 18, 6).notNullable().defaultTo(0);
    t.decimal('invoiced', 18, 6).notNullable().defaultTo(0);
    t.primary(['po_id', 'line_number']);
  });
  await knex.schema.createTable('purchase_order_documents', (t) => {
    t.bigIncrements('id');
    t.uuid('po_id').notNullable().references('purchase_orders.id');
    /** The linked document, and its message; a PO's own step (sent: its message; registered: none) names no document. */
    t.uuid('document_id');
    t.uuid('message_id');
    t.text('type').notNullable();
    t.text('document_number');
    /** Per line: what this document set or added (`{ line, confirmed?, shipped?, invoiced? }`). */
    t.jsonb('lines').notNullable();
    t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE INDEX purchase_order_documents_po ON purchase_order_documents (po_id, id)');
  await knex.raw('CREATE INDEX purchase_order_documents_document ON purchase_order_documents (document_id)');
  await knex.schema.createTable('business_exceptions', (t) => {
    t.uuid('id').primary();
    t.text('partner_id').notNullable();
    t.text('rule').notNullable();
    t.text('action').notNullable();
    t.jsonb('facts').notNullable();
    t.uuid('document_id').notNullable();
    t.uuid('message_id').notNullable();
    t.uuid('po_id').references('purchase_orders.id');
    t.text('po_number');
    t.text('state').notNullable().defaultTo('open');
    t.text('assignee');
    t.text('note');
    t.text('changed_by');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE business_exceptions
    ADD CONSTRAINT business_exceptions_state CHECK (state IN ('open', 'assigned', 'resolved', 'waived')),
    ADD CONSTRAINT business_exceptions_action CHECK (action IN ('deliver', 'hold'))`);
  await knex.raw("CREATE INDEX business_exceptions_open ON business_exceptions (partner_id, created_at) WHERE state IN ('open', 'assigned')");
  await knex.raw('CREATE INDEX business_exceptions_document ON business_exceptions (document_id)');
  await knex.schema.createTable('document_holds', (t) => {
    t.uuid('document_id').primary();
    t.uuid('message_id').notNullable();
    t.text('partner_id').notNullable();
    t.text('state').notNullable().defaultTo('held');
    t.text('decided_by');
    t.text('note');
    t.timestamp('held_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('decided_at', { useTz: true });
  });
  await knex.raw(`ALTER TABLE document_holds ADD CONSTRAINT document_holds_state CHECK (state IN ('held', 'released', 'rejected'))`);
  await knex.raw(`CREATE INDEX document_holds_held ON document_holds (held_at) WHERE state = 'held'`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['document_holds', 'business_exceptions', 'purchase_order_documents', 'purchase_order_lines', 'purchase_orders'])
    await knex.schema.dropTable(table);
}
