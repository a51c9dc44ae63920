package runtime

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuthorizationRequest is a validated authorization request (RFC 6749
// §4.1.1, §4.2.1): what a login or consent page shows, and what
// CompleteAuthorization and DenyAuthorization answer. Only
// ValidateAuthorizationRequest makes one.
type AuthorizationRequest struct {
	// Client asking for authorization, to show the user.
	Client *Client
	// ResponseType is "code" or "token" (implicit).
	ResponseType string
	// ResponseMode is how the response reaches the client: "query" (the
	// default for code) or "fragment" (the default for token, and what
	// response_mode=fragment asks for).
	ResponseMode string
	// RedirectURI is where the response goes: the request's redirect_uri,
	// or the client's only registered one.
	RedirectURI string
	// State is the client's opaque value, returned with the response.
	State string
	// Scopes the grant would have, after the scope checks; the consent
	// page lists them and CompleteAuthorization may grant fewer.
	Scopes []string
	// CodeChallenge and CodeChallengeMethod are the PKCE challenge (RFC
	// 7636); empty without PKCE.
	CodeChallenge, CodeChallengeMethod string

	// OpenID is set for an OpenID Connect request: response_type code
	// with openid granted, on a server with Config.OpenID. The fields
	// below are only read then.
	OpenID bool
	// Nonce is the request's nonce, echoed in the ID token.
	Nonce string
	// Prompt are the prompt values understood (none, login, consent,
	// select_account); Interaction acts on them.
	Prompt []string
	// MaxAge is max_age: the longest time since the user's sign-in the
	// client accepts; nil when not sent.
	MaxAge *time.Duration
	// AuthTime is when the user authenticated, the ID token's auth_time.
	// Interaction sets it from the Session; the application may too.
	// Zero at CompleteAuthorization means the completion time.
	AuthTime time.Time

	// params are the protocol parameters as sent, for Params.
	params url.Values
	// redirectURIParam is redirect_uri as sent; empty when it was left out.
	redirectURIParam string
	target           *redirectTarget
}

// Params returns the request's OAuth parameters as they were sent
// (client_id, response_type, response_mode, redirect_uri, scope, state,
// code_challenge, code_challenge_method; those sent without a value are
// left out), to carry through a login or consent form as hidden fields;
// the form's POST is validated again with ValidateAuthorizationRequest.
func (a *AuthorizationRequest) Params() url.Values { return cloneForm(a.params) }

// authorizeParams are the parameters Params carries.
var authorizeParams = []string{"client_id", "response_type", "response_mode", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method", "nonce", "prompt", "max_age"}

// redirectTarget is a trusted redirect URI and how to answer on it.
type redirectTarget struct {
	uri      string
	state    string
	fragment bool // implicit grant responses go in the fragment (§4.2.2), and any with response_mode=fragment
}

// ValidateAuthorizationRequest reads and checks an authorization request:
// a GET query, or a POST application/x-www-form-urlencoded body (as a
// login or consent form sends it back with Params as hidden fields).
// Parameters sent without a value count as omitted (§3.1).
//
// Errors are *Error values for WriteAuthorizationError. Before a trusted
// redirect URI is known (client_id missing, malformed or unknown, a client
// that may not use this endpoint or has no redirect URIs, redirect_uri not
// registered or left out when several are) they are shown to the user, not
// redirected (§4.1.2.1). After, they redirect to the client with error and
// state: response_type missing (invalid_request) or unknown
// (unsupported_response_type), a response_mode other than query or
// fragment, or query for the implicit grant (invalid_request), a grant the
// client may not use (unauthorized_client), state missing when required,
// bad scope (invalid_scope), a missing, malformed or refused PKCE
// challenge (invalid_request).
//
// redirect_uri must be one of the client's registered URIs, compared as
// strings (RFC 9700 §4.1.3), with one exception RFC 8252 §7.3 requires for
// native apps: for a registered http URI on a loopback IP literal
// (http://127.0.0.1/cb, http://[::1]/cb), the request may name any port.
func (s *Server) ValidateAuthorizationRequest(r *http.Request) (*AuthorizationRequest, error) {
	ctx := r.Context()
	if s.cfg.AuthorizationCode == nil && s.cfg.Implicit == nil {
		return nil, NewError(UnsupportedResponseType, "neither the authorization code nor the implicit grant is enabled")
	}
	raw, e := s.authorizeForm(r)
	if e != nil {
		return nil, e
	}
	for _, p := range []string{"client_id", "redirect_uri"} {
		if len(raw[p]) > 1 {
			return nil, errorf(InvalidRequest, "parameter %s is repeated", p)
		}
	}
	params := dropEmpty(raw)

	// Until the redirect URI is trusted, errors go to the user.
	clientID := params.Get("client_id")
	switch {
	case clientID == "":
		return nil, NewError(InvalidRequest, "client_id is required")
	case !isVSChars(clientID):
		return nil, NewError(InvalidRequest, "malformed client_id")
	}
	client, err := s.getClient(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return nil, &Error{Code: InvalidClient, Description: "unknown client", Status: http.StatusBadRequest}
	}
	if err != nil {
		return nil, s.fail(ctx, "get client", err)
	}
	if !client.AllowsGrant(GrantAuthorizationCode) && !client.AllowsGrant(GrantImplicit) {
		return nil, NewError(UnauthorizedClient, "the client may not use the authorization endpoint")
	}
	if len(client.RedirectURIs) == 0 {
		return nil, &Error{Code: InvalidClient, Description: "the client has no registered redirect URI", Status: http.StatusBadRequest}
	}
	redirectURIParam, hasRedirectURI := params.Get("redirect_uri"), params.Has("redirect_uri")
	redirectURI := redirectURIParam
	switch {
	case hasRedirectURI && !redirectURIRegistered(client.RedirectURIs, redirectURI):
		return nil, NewError(InvalidRequest, "redirect_uri is not registered for the client")
	case !hasRedirectURI && len(client.RedirectURIs) > 1:
		return nil, NewError(InvalidRequest, "redirect_uri is required: the client has several")
	case !hasRedirectURI:
		redirectURI = client.RedirectURIs[0]
	}
	if ValidateRedirectURI(redirectURI) != nil {
		// Registered URIs may predate ValidateClient (imported data): one it
		// refuses (javascript:, data:, relative, a fragment, …) is never
		// redirected to, not even with an error.
		return nil, &Error{Code: InvalidClient, Description: "the client's redirect URI is not one this server redirects to", Status: http.StatusBadRequest}
	}

	// From here on, errors redirect to the client: in the fragment for the
	// implicit grant or when response_mode asks for it (validated below),
	// in the query otherwise.
	responseType, responseMode := params.Get("response_type"), params.Get("response_mode")
	target := &redirectTarget{uri: redirectURI, fragment: responseType == "token"}
	switch responseMode {
	case "fragment":
		target.fragment = true
	case "query":
		// Never for tokens: they would reach logs and Referer headers
		// (OAuth 2.0 Multiple Response Type Encoding Practices §2.1).
		target.fragment = responseType == "token"
	}
	if state := params.Get("state"); isVSChars(state) && len(raw["state"]) <= 1 {
		target.state = state
	}
	redirectErr := func(code, description string) error {
		return &Error{Code: code, Description: description, redirect: target}
	}
	if e := checkRepeats(raw); e != nil {
		return nil, redirectErr(e.Code, e.Description)
	}
	state := params.Get("state")
	if !isVSChars(state) {
		return nil, redirectErr(InvalidRequest, "malformed state")
	}

	var grantType string
	switch responseType {
	case "":
		return nil, redirectErr(InvalidRequest, "response_type is required")
	case "code":
		grantType = GrantAuthorizationCode
		if s.cfg.AuthorizationCode == nil {
			return nil, redirectErr(UnsupportedResponseType, "response_type code is not supported")
		}
	case "token":
		grantType = GrantImplicit
		if s.cfg.Implicit == nil {
			target.fragment = responseMode == "fragment"
			return nil, redirectErr(UnsupportedResponseType, "response_type token is not supported")
		}
	default:
		return nil, redirectErr(UnsupportedResponseType, "response_type must be code or token")
	}
	switch responseMode {
	case "", "fragment":
	case "query":
		if responseType == "token" {
			return nil, redirectErr(InvalidRequest, "response_mode query is not allowed with response_type token")
		}
	default:
		return nil, redirectErr(InvalidRequest, "response_mode must be query or fragment")
	}
	if !client.AllowsGrant(grantType) {
		return nil, redirectErr(UnauthorizedClient, "the client may not use the "+grantType+" grant")
	}
	if state == "" && s.cfg.AuthorizationCode != nil && s.cfg.AuthorizationCode.RequireState {
		return nil, redirectErr(InvalidRequest, "state is required")
	}

	req := &AuthorizationRequest{
		Client:           client.clone(),
		ResponseType:     responseType,
		ResponseMode:     "query",
		RedirectURI:      redirectURI,
		State:            state,
		params:           url.Values{},
		redirectURIParam: redirectURIParam,
		target:           target,
	}
	if target.fragment {
		req.ResponseMode = "fragment"
	}
	for _, p := range authorizeParams {
		if params.Has(p) {
			req.params[p] = []string{params.Get(p)}
		}
	}

	if e := s.checkScopeLimits(params.Get("scope")); e != nil {
		return nil, redirectErr(e.Code, e.Description)
	}
	requested, err := ParseScope(params.Get("scope"))
	if err != nil {
		return nil, redirectErr(InvalidScope, asError(err).Description)
	}
	scopes, e := s.grantScopes(ctx, ScopeRequest{GrantType: grantType, Client: client, Requested: requested})
	if e != nil {
		e.redirect = target
		return nil, e
	}
	req.Scopes = scopes
	if e := s.openIDRequest(req, params); e != nil {
		return nil, redirectErr(e.Code, e.Description)
	}

	if responseType == "code" {
		if e := s.checkChallenge(client, params); e != nil {
			return nil, redirectErr(e.Code, e.Description)
		}
		if challenge := params.Get("code_challenge"); challenge != "" {
			req.CodeChallenge = challenge
			req.CodeChallengeMethod = params.Get("code_challenge_method")
			if req.CodeChallengeMethod == "" {
				req.CodeChallengeMethod = PKCEPlain
			}
		}
	}
	return req, nil
}

// redirectURIRegistered reports whether uri is one of registered: the
// same string (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3), or, for a loopback IP
// redirect URI, the same string but for the port (RFC 8252 §7.3: native
// apps listen on whatever port the system gives them).
func redirectURIRegistered(registered []string, uri string) bool {
	if slices.Contains(registered, uri) {
		return true
	}
	want, ok := withoutLoopbackPort(uri)
	if !ok {
		return false
	}
	for _, r := range registered {
		if got, ok := withoutLoopbackPort(r); ok && got == want {
			return true
		}
	}
	return false
}

// withoutLoopbackPort returns an http URI on a loopback IP literal
// (127.0.0.0/8 or [::1]) without its port, and false for any other URI
// ("localhost" included: RFC 8252 §8.3 advises against it, since it may
// not resolve to the loopback interface).
func withoutLoopbackPort(uri string) (string, bool) {
	rest, ok := strings.CutPrefix(uri, "http://")
	if !ok {
		return "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	// The host as written, less ":port"; compared as a string.
	host := rest[:end]
	if _, port, err := net.SplitHostPort(host); err == nil {
		// A port is 1–65535, digits only; "127.0.0.1:" is no port.
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 || strings.Trim(port, "0123456789") != "" {
			return "", false
		}
		host = host[:len(host)-len(port)-1]
	}
	literal := host
	if strings.HasPrefix(literal, "[") && strings.HasSuffix(literal, "]") {
		literal = literal[1 : len(literal)-1]
	} else if strings.Contains(literal, ":") {
		return "", false // an IPv6 literal must be bracketed
	}
	if ip := net.ParseIP(literal); ip == nil || !ip.IsLoopback() {
		return "", false
	}
	return "http://" + host + rest[end:], true
}

// authorizeForm returns the parameters of a GET query or a POST form
// body, within Config.Limits (the scope parameter is checked later, once
// errors can go to the client). A POST body is also left in r.PostForm
// and r.Form, so the application's page reads its own fields
// (r.PostFormValue) without parsing the body again.
func (s *Server) authorizeForm(r *http.Request) (url.Values, *Error) {
	switch r.Method {
	case http.MethodGet:
		return s.parseParams(r.URL.RawQuery, "the query string")
	case http.MethodPost:
		if r.PostForm != nil {
			return r.PostForm, nil
		}
		form, e := s.readBody(nil, r)
		if e != nil {
			return nil, e
		}
		r.PostForm, r.Form = form, form
		return form, nil
	}
	return nil, NewError(InvalidRequest, "the method must be GET or POST")
}

// checkChallenge checks the PKCE parameters of a code request (RFC 7636
// §4.3, §4.4.1) against the PKCE policy.
func (s *Server) checkChallenge(client *Client, params url.Values) *Error {
	g := s.cfg.AuthorizationCode
	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	if challenge == "" {
		if method != "" {
			return NewError(InvalidRequest, "code_challenge_method without code_challenge")
		}
		if g.PKCE == PKCERequired || g.PKCE == PKCEPublic && client.Public() {
			return NewError(InvalidRequest, "code_challenge is required (PKCE, RFC 7636)")
		}
		return nil
	}
	if method == "" {
		method = PKCEPlain // RFC 7636 §4.3
	}
	switch {
	case method != PKCES256 && method != PKCEPlain:
		return NewError(InvalidRequest, "code_challenge_method must be S256")
	case method == PKCEPlain && !g.AllowPlainPKCE:
		return NewError(InvalidRequest, "code_challenge_method plain is not allowed; use S256")
	case !isPKCEValue(challenge) || method == PKCES256 && len(challenge) != 43:
		return NewError(InvalidRequest, "malformed code_challenge")
	}
	return nil
}

// CompleteAuthorization answers an authorization request the user approved:
// for response_type code it stores a code (and the family of the tokens
// it will yield) and redirects with code and state; for token (implicit) it
// issues an access token and redirects with it in the fragment. Scopes nil
// grants req.Scopes; otherwise they must be among them. userID is the
// signed-in user. Failures redirect with an error (server_error,
// invalid_scope) and are returned too; the response is written either way.
func (s *Server) CompleteAuthorization(w http.ResponseWriter, r *http.Request, req *AuthorizationRequest, userID string, scopes []string) error {
	ctx := r.Context()
	if req == nil || req.target == nil {
		e := s.fail(ctx, "complete authorization", errors.New("the request was not made by ValidateAuthorizationRequest"))
		s.WriteAuthorizationError(w, r, e)
		return e
	}
	params, e := s.completeAuthorization(ctx, req, userID, scopes)
	if e != nil {
		e.redirect = req.target
		s.WriteAuthorizationError(w, r, e)
		return e
	}
	s.redirect(w, r, req.target, params)
	return nil
}

func (s *Server) completeAuthorization(ctx context.Context, req *AuthorizationRequest, userID string, scopes []string) (url.Values, *Error) {
	if userID == "" {
		return nil, s.fail(ctx, "complete authorization", errors.New("empty userID"))
	}
	granted, e := narrowScopes(req.Scopes, scopes)
	if e != nil {
		return nil, e
	}
	now := s.now()
	client := req.Client
	if req.ResponseType == "token" {
		access, lifetime, e := s.newAccessToken(ctx, client, userID, granted, "", now)
		if e != nil {
			return nil, e
		}
		if err := s.store.Issue(ctx, &Issuance{AccessToken: access.record}); err != nil {
			return nil, s.fail(ctx, "issue access token", err)
		}
		out := url.Values{
			"access_token": {access.value},
			"token_type":   {"Bearer"},
			"expires_in":   {strconv.FormatInt(seconds(lifetime), 10)},
		}
		if len(granted) > 0 {
			out.Set("scope", FormatScope(granted))
		}
		return out, nil
	}
	family := &Family{ID: NewID(), ClientID: client.ID, UserID: userID, CreatedAt: now}
	code := NewToken()
	ac := &AuthorizationCode{
		Hash:                HashToken(code),
		ClientID:            client.ID,
		UserID:              userID,
		RedirectURI:         req.redirectURIParam,
		Scopes:              granted,
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: req.CodeChallengeMethod,
		FamilyID:            family.ID,
		IssuedAt:            now,
		ExpiresAt:           now.Add(s.cfg.AuthorizationCodeLifetime),
	}
	if req.OpenID && slices.Contains(granted, ScopeOpenID) {
		ac.Nonce, ac.AuthTime = req.Nonce, req.AuthTime
		if ac.AuthTime.IsZero() {
			ac.AuthTime = now
		}
	}
	if err := s.store.Issue(ctx, &Issuance{Family: family, AuthorizationCode: ac}); err != nil {
		return nil, s.fail(ctx, "issue authorization code", err)
	}
	return url.Values{"code": {code}}, nil
}

// DenyAuthorization answers an authorization request the user refused:
// a redirect with error=access_denied and state.
func (s *Server) DenyAuthorization(w http.ResponseWriter, r *http.Request, req *AuthorizationRequest) {
	if req == nil || req.target == nil {
		s.WriteAuthorizationError(w, r, s.fail(r.Context(), "deny authorization", errors.New("the request was not made by ValidateAuthorizationRequest")))
		return
	}
	s.WriteAuthorizationError(w, r, &Error{Code: AccessDenied, Description: "the resource owner denied the request", redirect: req.target})
}

// WriteAuthorizationError answers a failed authorization request: with a
// redirect carrying error, error_description and state when the error came
// after the redirect URI was trusted; otherwise with a 400 JSON error (500
// for server_error) for the user's browser, never to an unchecked URI. An
// error that is not an *Error is logged and answered as server_error.
func (s *Server) WriteAuthorizationError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = s.fail(r.Context(), "authorization", err)
	}
	if t := e.redirect; t != nil {
		p := e.public()
		params := url.Values{"error": {p.Code}}
		if p.Description != "" {
			params.Set("error_description", p.Description)
		}
		if p.URI != "" {
			params.Set("error_uri", p.URI)
		}
		s.redirect(w, r, t, params)
		return
	}
	status := http.StatusBadRequest
	if e.Code == ServerError {
		status = http.StatusInternalServerError
	}
	p := e.public()
	s.writeJSON(w, status, errorBody{p.Code, p.Description, p.URI})
}

// redirect sends the user back to the client with params, state and iss
// (RFC 9207) in the query, keeping the redirect URI's own query (§3.1.2),
// or in the fragment for the implicit grant (§4.2.2).
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, t *redirectTarget, params url.Values) {
	if t.state != "" {
		params.Set("state", t.state)
	}
	if s.cfg.Issuer != "" {
		params.Set("iss", s.cfg.Issuer)
	}
	u, err := url.Parse(t.uri)
	if err != nil {
		// Registered URIs come from the store; one that does not parse is
		// a broken registration, not something to redirect to.
		e := s.fail(r.Context(), "redirect", err).public()
		s.writeJSON(w, http.StatusInternalServerError, errorBody{e.Code, e.Description, ""})
		return
	}
	u.Fragment, u.RawFragment = "", ""
	if t.fragment {
		s.writeRedirect(w, r, u.String()+"#"+params.Encode())
		return
	}
	if u.RawQuery != "" {
		u.RawQuery += "&" + params.Encode()
	} else {
		u.RawQuery = params.Encode()
	}
	s.writeRedirect(w, r, u.String())
}

// writeRedirect answers with a redirect: 302 after a GET, 303 after a
// POST (RFC 9700 §4.12: a 307 would make the browser POST the user's
// credentials to the client; 303 turns the request into a GET).
func (s *Server) writeRedirect(w http.ResponseWriter, r *http.Request, location string) {
	h := w.Header()
	h.Set("Location", location)
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	status := http.StatusFound
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		status = http.StatusSeeOther
	}
	w.WriteHeader(status)
}
