"""The provider-agnostic core: session, auth, retries, errors, bodies, streaming."""
