// Package runtime is oauthgen's OAuth 2.0 authorization server engine:
// the grants, the HTTP endpoints and the store interfaces that generated
// (or hand-written) stores implement.
//
// A Server is built from a Config and a Store:
//
//	srv, err := runtime.NewServer(runtime.Config{
//		Issuer:            "https://as.example.com",
//		AuthorizationCode: &runtime.AuthorizationCodeGrant{},
//		RefreshToken:      &runtime.RefreshTokenGrant{},
//		Scopes:            []string{"read", "write"},
//	}, store)
//
// Handler serves the token (RFC 6749), revocation (RFC 7009),
// introspection (RFC 7662), device authorization (RFC 8628) and metadata
// (RFC 8414) endpoints. The application owns the pages a person sees:
// its authorization endpoint calls ValidateAuthorizationRequest, signs the
// user in (AuthenticateUser), asks for consent, then CompleteAuthorization
// or DenyAuthorization; its device verification page calls LookupUserCode
// and ApproveDevice or DenyDevice. Protected resources use RequireToken
// (RFC 6750) and TokenFromContext.
//
// Tokens, codes and device codes are 256-bit random values; stores only
// ever see their SHA-256 (HashToken). Single use is the store's atomic
// Consume call; a replayed authorization code or a reused refresh token
// revokes every token of its grant (its Family).
//
// Errors a client sees are *Error values with the RFC error codes; any
// other failure is logged and answered as server_error, without details.
package runtime
