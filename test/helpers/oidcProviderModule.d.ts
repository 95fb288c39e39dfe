// oidc-provider 8 ships no type declarations (they live in @types/oidc-provider): the tests use it untyped.
declare module 'oidc-provider' {
  const Provider: new (
    issuer: string,
    configuration: Record<string, unknown>,
  ) => {
    callback(): (request: import('node:http').IncomingMessage, response: import('node:http').ServerResponse) => void
  }
  export default Provider
}
