/**
 * The rules `cleaner` applies when no `--schema` is given: the original web-event script's checks,
 * as a JSON Schema. Each rule is documented in README.md ("Default rules").
 */
export const defaultSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://cleaner.local/schemas/web-event.json',
  title: 'Web event',
  type: 'object',
  required: ['event_id', 'session_id', 'event_type', 'timestamp'],
  properties: {
    event_id: { type: 'string', format: 'uuid' },
    session_id: { type: 'string', format: 'uuid' },
    // "Not blank": at least one non-whitespace character, as the original script's strip() check.
    event_type: { type: 'string', pattern: '\\S' },
    timestamp: { type: 'string', format: 'date-time' },
    event_date: { type: 'string', format: 'date' },
    user_id: { type: 'string', pattern: '\\S' },
    email: { type: 'string', format: 'email' },
  },
} as const;

/** The built-in rules as the text a run stores. */
export const DEFAULT_RULES_TEXT = JSON.stringify(defaultSchema, null, 2);
