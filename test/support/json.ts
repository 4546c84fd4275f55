/** A JSON answer as tests read it: any shape, checked by the assertions that follow. */
// biome-ignore lint/suspicious/noExplicitAny: tests assert on arbitrary JSON answers
export type Json = any;

/** Reads a response (or a pending one) as JSON. */
export async function json(res: Response | Promise<Response>): Promise<Json> {
  return (await res).json();
}
