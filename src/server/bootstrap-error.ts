/** A data dir or cluster that cannot be used as asked; the message is for the operator. */
export class BootstrapError extends Error {
  override name = "BootstrapError";
}
