/** The forms a report, blockers or diff is written in: --format table (text), json or csv. */
export const FORMATS = ['table', 'json', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

export type CsvCell = string | number | null | undefined;

/** A CSV form: its header and one line per row. */
export interface Csv {
  header: readonly string[];
  rows: readonly (readonly CsvCell[])[];
}

/** The data in the format asked for: JSON as built, CSV from `csv`, else the text of `text`. */
export function renderAs<T>(format: Format, data: T, forms: { text: (data: T) => string; csv: (data: T) => Csv }): string {
  if (format === 'json') return `${JSON.stringify(data, null, 2)}\n`;
  if (format === 'csv') return renderCsv(forms.csv(data));
  return forms.text(data);
}

/** RFC 4180: a cell with a quote, comma or line break is quoted; null and undefined are empty. */
export function renderCsv(csv: Csv): string {
  const line = (cells: readonly CsvCell[]): string => cells.map(csvCell).join(',');
  return `${[line(csv.header), ...csv.rows.map(line)].join('\n')}\n`;
}

function csvCell(cell: CsvCell): string {
  if (cell === null || cell === undefined) return '';
  const s = String(cell);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
