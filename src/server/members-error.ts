/** A members-API failure: HTTP status and etcd's message. */
export class MembersError extends Error {
  override name = "MembersError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
