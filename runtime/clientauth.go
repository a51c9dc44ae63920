package runtime

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// knownParams are the parameters the engine reads; each may appear once
// (RFC 6749 §3.1, §3.2). Others (extension grants' audience, resource, …)
// may repeat.
var knownParams = []string{
	"grant_type", "client_id", "client_secret", "code", "redirect_uri", "code_verifier",
	"refresh_token", "scope", "username", "password", "device_code", "token", "token_type_hint",
	"response_type", "response_mode", "state", "code_challenge", "code_challenge_method",
}

// readForm reads the body of a POST to a form endpoint (RFC 6749 §3.2):
// POST only, application/x-www-form-urlencoded only, within
// Config.Limits, each known parameter once. Parameters sent without a
// value are left out, as §3.1 and §3.2 ask. The query string is not read:
// credentials there would already have leaked into logs, so client_secret
// in it is refused.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) (url.Values, *Error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return nil, NewError(InvalidRequest, "the method must be POST")
	}
	if strings.Contains(r.URL.RawQuery, "client_secret") && r.URL.Query().Has("client_secret") {
		return nil, NewError(InvalidRequest, "client_secret must not be sent in the query string")
	}
	form, e := s.readBody(w, r)
	if e != nil {
		return nil, e
	}
	if e := s.checkScopeLimits(form.Get("scope")); e != nil {
		return nil, e
	}
	if e := checkRepeats(form); e != nil {
		return nil, e
	}
	return dropEmpty(form), nil
}

// readBody reads an application/x-www-form-urlencoded body within
// Config.Limits: never multipart (no temporary files), never more than
// MaxBodyBytes, at most MaxParameters parameters of at most
// MaxValueBytes each (scope is left to checkScopeLimits).
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (url.Values, *Error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, NewError(InvalidRequest, "the content type must be application/x-www-form-urlencoded")
	}
	limit := s.cfg.Limits.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, bodyTooLarge(limit)
	}
	var body []byte
	if r.Body != nil { // nil only in requests built by hand for a handler
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
				return nil, bodyTooLarge(limit)
			}
			return nil, NewError(InvalidRequest, "the request body is unreadable")
		}
	}
	return s.parseParams(string(body), "the request body")
}

// bodyTooLarge is invalid_request with status 400, as RFC 6749 §5.2 has
// every malformed request answered, and a description saying what 413
// would.
func bodyTooLarge(limit int64) *Error {
	return NewError(InvalidRequest, "request body too large: at most "+strconv.FormatInt(limit, 10)+" bytes")
}

// parseParams parses form-encoded parameters within Config.Limits.
func (s *Server) parseParams(raw, what string) (url.Values, *Error) {
	l := &s.cfg.Limits
	// Counted before parsing, so no work grows with a flood of pairs.
	if strings.Count(raw, "&")+1 > l.MaxParameters && raw != "" {
		return nil, errorf(InvalidRequest, "too many parameters: at most %d", l.MaxParameters)
	}
	form, err := url.ParseQuery(raw)
	if err != nil {
		return nil, errorf(InvalidRequest, "%s is not valid form encoding", what)
	}
	for k, vv := range form {
		if len(k) > l.MaxValueBytes {
			return nil, errorf(InvalidRequest, "parameter name too long: at most %d bytes", l.MaxValueBytes)
		}
		if k == "scope" {
			continue
		}
		for _, v := range vv {
			if len(v) > l.MaxValueBytes {
				return nil, errorf(InvalidRequest, "parameter %s is too long: at most %d bytes", clip(k), l.MaxValueBytes)
			}
		}
	}
	return form, nil
}

// checkScopeLimits bounds a scope parameter: its length and its count
// of tokens, counted without splitting.
func (s *Server) checkScopeLimits(scope string) *Error {
	l := &s.cfg.Limits
	switch {
	case len(scope) > l.MaxValueBytes:
		return errorf(InvalidScope, "scope is too long: at most %d bytes", l.MaxValueBytes)
	case strings.Count(scope, " ") >= l.MaxScopes:
		return errorf(InvalidScope, "too many scopes: at most %d", l.MaxScopes)
	}
	return nil
}

// ReadForm reads a POSTed application/x-www-form-urlencoded body within
// Config.Limits, for the application's pages (login, consent, device
// verification): multipart bodies are refused (no temporary files), a body
// over MaxBodyBytes is an invalid_request *Error ("request body too
// large"). The
// values are also set as r.PostForm and r.Form, so r.PostFormValue reads
// them without parsing the body again. Errors are *Error values.
func (s *Server) ReadForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.PostForm != nil {
		return r.PostForm, nil
	}
	if r.Method != http.MethodPost {
		return nil, NewError(InvalidRequest, "the method must be POST")
	}
	form, e := s.readBody(w, r)
	if e != nil {
		return nil, e
	}
	if e := s.checkScopeLimits(form.Get("scope")); e != nil {
		return nil, e
	}
	r.PostForm, r.Form = form, form
	return form, nil
}

// dropEmpty returns the parameters that have a value: RFC 6749 §3.1 and
// §3.2 say "parameters sent without a value MUST be treated as if they
// were omitted from the request". Repeats are checked before, on the
// parameters as sent.
func dropEmpty(form url.Values) url.Values {
	out := make(url.Values, len(form))
	for k, vv := range form {
		var kept []string
		for _, v := range vv {
			if v != "" {
				kept = append(kept, v)
			}
		}
		if len(kept) > 0 {
			out[k] = kept
		}
	}
	return out
}

// checkRepeats refuses a known parameter given more than once.
func checkRepeats(form url.Values) *Error {
	for _, p := range knownParams {
		if len(form[p]) > 1 {
			return errorf(InvalidRequest, "parameter %s is repeated", p)
		}
	}
	return nil
}

// authMethod is how a client presented its credentials.
type authMethod int

const (
	authNone  authMethod = iota // client_id alone (public clients)
	authBasic                   // client_secret_basic
	authPost                    // client_secret_post
)

// clientError is an invalid_client answer, shaped by how the client tried
// to authenticate (RFC 6749 §5.2): 401 with a Basic challenge after an
// Authorization header, 400 otherwise.
func clientError(method authMethod, description string) *Error {
	e := NewError(InvalidClient, description)
	if method == authBasic {
		e.Status = http.StatusUnauthorized
	} else {
		e.Status = http.StatusBadRequest
	}
	return e
}

// authenticateClient identifies and authenticates the client of a token,
// revocation, introspection or device authorization request (RFC 6749
// §2.3.1, §3.2.1): client_secret_basic, client_secret_post, or client_id
// alone for a public client. It also returns the method used, which
// decides the status of a later invalid_client.
//
// Failures are throttled per client id and per source address
// (Config.Throttle): once the address is blocked, its requests are
// refused with 429 before any work; once the id is blocked, its requests
// are refused too, unless its secret is an issued (SHA-256) one, cheap to
// check and not guessable: then a right secret still succeeds, so guesses
// cannot lock a client out. An unknown id is treated as one of the kind
// verifyUnknown assigns it, so neither the answer nor its timing tells
// whether the id exists.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (*Client, authMethod, *Error) {
	id, secret, method, e := clientCredentials(r, form)
	if e != nil {
		return nil, method, e
	}
	if id == "" {
		return nil, method, clientError(method, "client authentication is required")
	}
	idKey := clientKey(id)
	st, e := s.throttleRead(ctx, addrKey("client", s.SourceAddress(r)), idKey)
	if e != nil {
		return nil, method, e
	}
	addrIdx, idIdx := 0, 1
	if st.n == 1 || st.keys[0] == idKey { // no address (or no limiter)
		addrIdx, idIdx = -1, 0
	}
	if e := s.blocked(&st, addrIdx); e != nil {
		return nil, method, e
	}
	idBlocked := s.blocked(&st, idIdx)
	bad := func() (*Client, authMethod, *Error) {
		if e := s.failed(ctx, &st); e != nil {
			return nil, method, e
		}
		if idBlocked != nil {
			return nil, method, idBlocked
		}
		return nil, method, clientError(method, "unknown client or bad credentials")
	}

	client, err := s.getClient(ctx, id)
	if errors.Is(err, ErrNotFound) {
		if idBlocked != nil && hashCostly(s.clientHashes.dummyFor(id)) {
			return nil, method, idBlocked
		}
		// Spend the time a real verification takes, so that which ids
		// exist cannot be learnt by timing (a public client's id alone
		// costs no verification either).
		if secret != "" {
			if e := s.verifyUnknown(ctx, s.clientHashes, id, secret); e != nil {
				return nil, method, e
			}
		}
		return bad()
	}
	if err != nil {
		return nil, method, s.fail(ctx, "get client", err)
	}
	if client.Public() {
		if secret != "" {
			return bad()
		}
		return client, method, nil
	}
	if secret == "" {
		return nil, method, clientError(method, "client authentication is required for a confidential client")
	}
	if idBlocked != nil && hashCostly(client.SecretHash) {
		return nil, method, idBlocked
	}
	ok, e := s.verify(ctx, s.clientHashes, client.SecretHash, secret)
	if e != nil {
		return nil, method, e
	}
	if !ok {
		return bad()
	}
	s.succeeded(ctx, &st, idKey)
	return client, method, nil
}

// hashCostly reports whether a stored hash is slow to verify (bcrypt,
// argon2id), so guessing it is worth throttling before verification.
func hashCostly(hash string) bool {
	kind, _, _ := hashKind(hash)
	return kind != kindSHA256
}

// clientCredentials reads the client's id and secret from the Basic
// Authorization header or the body, refusing both at once (§2.3: one
// method per request) and characters outside VSCHAR (Appendix A.1, A.2).
func clientCredentials(r *http.Request, form url.Values) (id, secret string, method authMethod, e *Error) {
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	headers := r.Header.Values("Authorization")
	if len(headers) > 1 {
		return "", "", authBasic, NewError(InvalidRequest, "more than one Authorization header")
	}
	if len(headers) == 1 {
		scheme, creds, _ := strings.Cut(headers[0], " ")
		if !strings.EqualFold(scheme, "Basic") {
			return "", "", authBasic, clientError(authBasic, "unsupported authentication scheme; use Basic")
		}
		id, secret, e = parseBasic(strings.TrimLeft(creds, " "))
		if e != nil {
			return "", "", authBasic, e
		}
		if form.Has("client_secret") {
			return "", "", authBasic, NewError(InvalidRequest, "client credentials in both the Authorization header and the body")
		}
		if form.Has("client_id") && formID != id {
			return "", "", authBasic, NewError(InvalidRequest, "client_id in the body differs from the Authorization header")
		}
		return id, secret, authBasic, nil
	}
	if !isVSChars(formID) || !isVSChars(formSecret) {
		return "", "", authPost, NewError(InvalidRequest, "client_id and client_secret must be printable ASCII")
	}
	if form.Has("client_secret") {
		if formID == "" {
			return "", "", authPost, NewError(InvalidRequest, "client_secret without client_id")
		}
		return formID, formSecret, authPost, nil
	}
	return formID, "", authNone, nil
}

// parseBasic decodes Basic credentials whose id and secret are each
// form-urlencoded before base64 (RFC 6749 §2.3.1).
func parseBasic(creds string) (id, secret string, e *Error) {
	malformed := NewError(InvalidRequest, "malformed Basic credentials: want base64 of form-urlencoded client_id:client_secret")
	raw, err := base64.StdEncoding.DecodeString(creds)
	if err != nil {
		return "", "", malformed
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", malformed
	}
	if id, err = url.QueryUnescape(rawID); err != nil {
		return "", "", malformed
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", malformed
	}
	if id == "" || !isVSChars(id) || !isVSChars(secret) {
		return "", "", malformed
	}
	return id, secret, nil
}
