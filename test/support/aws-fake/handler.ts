/** A failure a test injects: the next `remaining` calls of `operation` (or of any) throw `error()`. */
export interface InjectedFailure {
  operation: string | undefined;
  error: () => Error;
  remaining: number;
}

/**
 * Answers one SDK command with `body`, in the calling client's region, unless
 * an injected failure is due; input and output are copied, as over the wire.
 */
export function handleCommand<I extends object, O, C extends { config: { region: () => Promise<string> } }>(
  /** An aws-sdk-client-mock stub; its `on` is generic over the client, so it is taken as such. */
  mock: { on: unknown },
  failures: InjectedFailure[],
  command: new (input: I) => { input: I },
  operation: string,
  body: (region: string, input: I) => O,
): void {
  // The command classes are generic over the SDK's middleware types; only their identity matters here.
  (mock.on as (c: unknown) => { callsFake: (fn: unknown) => unknown })(command).callsFake(
    async (input: I, getClient: () => C) => {
      const region = await getClient().config.region();
      const failure = failures.find(
        (f) => f.remaining > 0 && (f.operation === undefined || f.operation === operation),
      );
      if (failure !== undefined) {
        failure.remaining -= 1;
        throw failure.error();
      }
      return structuredClone(body(region, structuredClone(input)));
    },
  );
}
