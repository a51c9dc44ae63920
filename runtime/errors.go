package runtime

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// OAuth error codes, as the RFCs spell them.
const (
	// RFC 6749 §4.1.2.1, §5.2.
	InvalidRequest          = "invalid_request"
	InvalidClient           = "invalid_client"
	InvalidGrant            = "invalid_grant"
	UnauthorizedClient      = "unauthorized_client"
	UnsupportedGrantType    = "unsupported_grant_type"
	InvalidScope            = "invalid_scope"
	AccessDenied            = "access_denied"
	UnsupportedResponseType = "unsupported_response_type"
	ServerError             = "server_error"
	TemporarilyUnavailable  = "temporarily_unavailable"

	// RFC 6750 §3.1.
	InvalidToken      = "invalid_token"
	InsufficientScope = "insufficient_scope"

	// RFC 7009 §2.2.1.
	UnsupportedTokenType = "unsupported_token_type"

	// RFC 8628 §3.5.
	AuthorizationPending = "authorization_pending"
	SlowDown             = "slow_down"
	ExpiredToken         = "expired_token"
)

// ErrInvalidCredentials is returned by AuthenticateUser when the username
// is unknown or the password does not match; which of the two is not said.
var ErrInvalidCredentials = errors.New("oauthgen: invalid username or password")

// Error is an OAuth error response (RFC 6749 §5.2, RFC 6750 §3.1). Handlers
// write it as JSON with Status; hooks return one to refuse a request.
type Error struct {
	// Code is the RFC error code (InvalidRequest, InvalidGrant, …).
	Code string
	// Description is human-readable ASCII for the client developer
	// (error_description). It must not carry secrets.
	Description string
	// URI is an optional page about the error (error_uri).
	URI string
	// Status is the HTTP status; zero (or anything but 4xx and 5xx) means
	// the default for Code (see StatusFor).
	Status int
	// RetryAfter, when positive, is sent as Retry-After (whole seconds)
	// with a 429 or 503: how long the client should wait.
	RetryAfter time.Duration

	// cause is the underlying failure of a server_error, for logs only,
	// or the sentinel (ErrTooManyAttempts, ErrBusy) an error stands for.
	cause error
	// redirect is set on authorization endpoint errors once the redirect
	// URI is trusted: WriteAuthorizationError sends the error there.
	redirect *redirectTarget
	// scope is the scope= of an insufficient_scope challenge.
	scope string
}

// NewError returns an *Error with the given code and description and the
// default status for the code.
func NewError(code, description string) *Error {
	return &Error{Code: code, Description: description}
}

// errorf returns an *Error with a formatted description.
func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// Error returns "code: description".
func (e *Error) Error() string {
	if e.Description == "" {
		return e.Code
	}
	return e.Code + ": " + e.Description
}

// Unwrap returns the underlying cause of a server_error, if any.
func (e *Error) Unwrap() error { return e.cause }

// HTTPStatus returns Status, or the default for Code when Status is zero
// or not an error status (4xx or 5xx): an error is never answered 200 or
// with a redirect status.
func (e *Error) HTTPStatus() int {
	if e.Status >= 400 && e.Status <= 599 {
		return e.Status
	}
	return StatusFor(e.Code)
}

// StatusFor returns the HTTP status the RFCs give an error code:
// 401 for invalid_client and invalid_token, 403 for insufficient_scope,
// 500 for server_error, 503 for temporarily_unavailable, 400 otherwise.
func StatusFor(code string) int {
	switch code {
	case InvalidClient, InvalidToken:
		return http.StatusUnauthorized
	case InsufficientScope:
		return http.StatusForbidden
	case ServerError:
		return http.StatusInternalServerError
	case TemporarilyUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// asError turns any error into an *Error: an *Error (possibly wrapped) as
// it is, anything else as a server_error that keeps the cause for logs.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: ServerError, cause: err}
}

// public returns the error as clients may see it: a server_error loses its
// description, which may hold internals; the others keep only the
// characters RFC 6749 §5.2 allows in error_description (%x20-21 /
// %x23-5B / %x5D-7E) and error_uri (the same less space).
func (e *Error) public() *Error {
	if e.Code == ServerError {
		return &Error{Code: ServerError, Description: "internal server error", Status: http.StatusInternalServerError}
	}
	p := *e
	p.Code = strings.Map(keepQChar, e.Code)
	p.Description = truncate(strings.Map(keepQChar, e.Description), maxDescription)
	p.scope = strings.Map(keepQChar, e.scope)
	p.URI = strings.Map(func(r rune) rune {
		if r == ' ' {
			return -1
		}
		return keepQChar(r)
	}, e.URI)
	return &p
}

// keepQChar keeps r if an error attribute may hold it, else drops it.
func keepQChar(r rune) rune {
	if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
		return -1
	}
	return r
}

// maxDescription bounds an error_description; maxEcho bounds the part of
// client input one may quote (clip).
const (
	maxDescription = 256
	maxEcho        = 40
)

// clip returns client input to quote in an error description: at most
// maxEcho bytes, only the characters an error attribute may hold, "..."
// marking a cut.
func clip(s string) string {
	if len(s) > maxEcho {
		s = s[:maxEcho] + "..."
	}
	return strings.Map(keepQChar, s)
}

// truncate cuts s to at most n bytes, "..." marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
