/** Most physical lines one quoted CSV field may span before the record is refused. */
const MAX_RECORD_LINES = 10_000;

/** An RFC 4180 parser fed one line at a time: quoted fields may span lines, `""` is a quote inside quotes. */
export class CsvParser {
  private fields: string[] = [];
  private field = '';
  private inQuotes = false;
  private startLine = 0;
  private lines = 0;
  private raw: string[] = [];
  constructor(private readonly delimiter: string) {}

  /** Feeds one line (without its ending); returns a record when the line completes one. */
  push(
    line: string,
    ending: string,
    lineNo: number,
  ): { line: number; fields: string[]; raw: string } | { line: number; error: string } | null {
    if (!this.inQuotes) {
      this.startLine = lineNo;
      this.fields = [];
      this.field = '';
      this.lines = 0;
      this.raw = [];
    }
    this.lines++;
    this.raw.push(line);
    const d = this.delimiter;
    let i = 0;
    const n = line.length;
    // Continue a quoted field from the previous line.
    while (i <= n) {
      if (this.inQuotes) {
        const q = line.indexOf('"', i);
        if (q === -1) {
          this.field += line.slice(i) + ending;
          if (this.lines >= MAX_RECORD_LINES) {
            this.inQuotes = false;
            return {
              line: this.startLine,
              error: `a quoted field opened on line ${this.startLine} is not closed within ${MAX_RECORD_LINES} lines`,
            };
          }
          return null;
        }
        this.field += line.slice(i, q);
        if (line[q + 1] === '"') {
          this.field += '"';
          i = q + 2;
          continue;
        }
        this.inQuotes = false;
        i = q + 1;
        // After a closing quote, text up to the delimiter is kept as is (lenient, as pandas and Excel).
        const next = line.indexOf(d, i);
        const end = next === -1 ? n : next;
        this.field += line.slice(i, end);
        this.fields.push(this.field);
        this.field = '';
        if (next === -1) break;
        i = next + 1;
        if (i === n) {
          this.fields.push('');
          break;
        }
        continue;
      }
      if (line[i] === '"') {
        this.inQuotes = true;
        i++;
        continue;
      }
      const next = line.indexOf(d, i);
      if (next === -1) {
        this.fields.push(line.slice(i));
        break;
      }
      this.fields.push(line.slice(i, next));
      i = next + 1;
      if (i === n) {
        this.fields.push('');
        break;
      }
    }
    return { line: this.startLine, fields: this.fields, raw: this.raw.join('\n') };
  }

  /** At the end of the input: the error of a record left open, if any. */
  end(): { line: number; error: string } | null {
    if (!this.inQuotes) return null;
    this.inQuotes = false;
    return { line: this.startLine, error: `a quoted field opened on line ${this.startLine} is never closed` };
  }
}
