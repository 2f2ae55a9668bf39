/** An error whose message is meant for the user as is (one line, names the file or argument). */
export class LockpathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LockpathError';
  }
}
