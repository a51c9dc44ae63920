package runtime

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// deviceAuthorizationResponse is RFC 8628 §3.2's response.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// DeviceAuthorizationHandler returns the device authorization endpoint
// (RFC 8628 §3.1, §3.2). Clients authenticate as at the token endpoint
// (public clients send client_id alone) and must be allowed the device
// grant; the response carries the device code, a user code shown as
// XXXX-XXXX, the verification URIs (Issuer + Endpoints.Verification, and
// the same with ?user_code=), expires_in and interval.
func (s *Server) DeviceAuthorizationHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, e := s.deviceAuthorization(w, r)
		if e != nil {
			s.writeError(w, e)
			return
		}
		s.writeJSON(w, http.StatusOK, resp)
	})
}

func (s *Server) deviceAuthorization(w http.ResponseWriter, r *http.Request) (*deviceAuthorizationResponse, *Error) {
	if s.cfg.DeviceCode == nil {
		return nil, NewError(UnsupportedGrantType, "the device authorization grant is not enabled")
	}
	ctx := r.Context()
	form, e := s.readForm(w, r)
	if e != nil {
		return nil, e
	}
	ctx = s.snapshot(ctx)
	client, _, e := s.authenticateClient(ctx, r, form)
	if e != nil {
		return nil, e
	}
	if !client.AllowsGrant(GrantDeviceCode) {
		return nil, NewError(UnauthorizedClient, "the client may not use the device authorization grant")
	}
	requested, err := ParseScope(form.Get("scope"))
	if err != nil {
		return nil, asError(err)
	}
	scopes, e := s.grantScopes(ctx, ScopeRequest{GrantType: GrantDeviceCode, Client: client, Requested: requested})
	if e != nil {
		return nil, e
	}

	now := s.now()
	family := &Family{ID: NewID(), ClientID: client.ID, CreatedAt: now}
	deviceCode := NewToken()
	d := &DeviceCode{
		Hash:      HashToken(deviceCode),
		ClientID:  client.ID,
		Scopes:    scopes,
		Status:    DevicePending,
		FamilyID:  family.ID,
		Interval:  s.deviceInterval,
		IssuedAt:  now,
		ExpiresAt: now.Add(s.cfg.DeviceCodeLifetime),
	}
	// A user code is short, so it may collide with a live one: draw again.
	var userCode string
	for attempt := 0; ; attempt++ {
		userCode = s.newUserCode()
		d.UserCodeHash = HashToken(userCode)
		err = s.store.Issue(ctx, &Issuance{Family: family, DeviceCode: d})
		if err == nil {
			break
		}
		if !errors.Is(err, ErrDuplicate) || attempt == 4 {
			return nil, s.fail(ctx, "create device code", err)
		}
	}
	shown := formatUserCode(userCode)
	return &deviceAuthorizationResponse{
		DeviceCode:              deviceCode,
		UserCode:                shown,
		VerificationURI:         s.url(s.cfg.Endpoints.Verification),
		VerificationURIComplete: s.url(s.cfg.Endpoints.Verification) + "?user_code=" + url.QueryEscape(shown),
		ExpiresIn:               seconds(s.cfg.DeviceCodeLifetime),
		Interval:                seconds(s.deviceInterval),
	}, nil
}

// newUserCode draws a normalized user code: uniform over the alphabet
// (rejection sampling, no modulo bias).
func (s *Server) newUserCode() string {
	cs := s.userCodeCharset
	limit := 256 - 256%len(cs)
	code := make([]byte, 0, s.userCodeLength)
	var buf [64]byte
	for len(code) < s.userCodeLength {
		rand.Read(buf[:])
		for _, b := range buf {
			if int(b) < limit && len(code) < s.userCodeLength {
				code = append(code, cs[int(b)%len(cs)])
			}
		}
	}
	return string(code)
}

// formatUserCode groups a normalized user code in fours with dashes:
// XXXX-XXXX (RFC 8628 §6.1).
func formatUserCode(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i++ {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(code[i])
	}
	return b.String()
}

// NormalizeUserCode returns a user code as typed by a user in the form it
// is stored under: upper case, without dashes and whitespace.
func NormalizeUserCode(userCode string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '\n' || r == '\r':
			return -1
		case 'a' <= r && r <= 'z':
			return r - ('a' - 'A')
		}
		return r
	}, userCode)
}

// DeviceRequest is a pending device authorization, for the application's
// verification page (RFC 8628 §3.3).
type DeviceRequest struct {
	// Client is the device's client, to show the user who asks.
	Client *Client
	// Scopes requested; ApproveDevice may grant fewer.
	Scopes []string
	// UserCode in its display form, XXXX-XXXX.
	UserCode string
	// ExpiresAt is when the request lapses.
	ExpiresAt time.Time
}

// LookupUserCode finds the pending device authorization of a user code,
// typed in any case, with or without dashes and spaces. An unknown or
// expired code is one and the same error, matching ErrNotFound
// (errors.Is); one already approved or denied matches ErrConsumed. Store
// failures are a logged server_error *Error.
//
// Call it only for a signed-in user, and show nothing about the code
// before: a page that names the client, or answers differently, for a
// code typed by anyone lets codes be guessed and then phished. User codes
// are short by design: the application should also limit how often one
// user or address may try them (RFC 8628 §5.1).
func (s *Server) LookupUserCode(ctx context.Context, userCode string) (*DeviceRequest, error) {
	d, client, err := s.pendingDevice(ctx, userCode)
	if err != nil {
		return nil, err
	}
	return &DeviceRequest{
		Client:    client.clone(),
		Scopes:    d.Scopes,
		UserCode:  formatUserCode(NormalizeUserCode(userCode)),
		ExpiresAt: d.ExpiresAt,
	}, nil
}

// ApproveDevice records the user's approval of a device authorization.
// Scopes nil grants every requested scope; otherwise they must be among
// the requested ones (invalid_scope *Error if not). Errors as
// LookupUserCode; a code decided meanwhile matches ErrConsumed.
func (s *Server) ApproveDevice(ctx context.Context, userCode, userID string, scopes []string) error {
	if userID == "" {
		return s.fail(ctx, "approve device", errors.New("empty userID"))
	}
	d, _, err := s.pendingDevice(ctx, userCode)
	if err != nil {
		return err
	}
	granted, e := narrowScopes(d.Scopes, scopes)
	if e != nil {
		return e
	}
	return s.decideDevice(ctx, d, DeviceDecision{Status: DeviceApproved, UserID: userID, Scopes: granted, At: s.now()})
}

// DenyDevice records the user's refusal: the device's next poll gets
// access_denied. Errors as ApproveDevice.
func (s *Server) DenyDevice(ctx context.Context, userCode string) error {
	d, _, err := s.pendingDevice(ctx, userCode)
	if err != nil {
		return err
	}
	return s.decideDevice(ctx, d, DeviceDecision{Status: DeviceDenied, At: s.now()})
}

func (s *Server) decideDevice(ctx context.Context, d *DeviceCode, dec DeviceDecision) error {
	switch err := s.devices.DecideDeviceCode(ctx, d.Hash, dec); {
	case errors.Is(err, ErrConsumed):
		return fmt.Errorf("oauthgen: device authorization already decided: %w", ErrConsumed)
	case errors.Is(err, ErrNotFound):
		return errUnknownUserCode
	case err != nil:
		return s.fail(ctx, "decide device code", err)
	}
	return nil
}

// errUnknownUserCode is the one error of an unknown or expired user code.
var errUnknownUserCode = fmt.Errorf("oauthgen: unknown or expired user code: %w", ErrNotFound)

// pendingDevice returns the undecided, unexpired device authorization of
// a user code, and its client.
func (s *Server) pendingDevice(ctx context.Context, userCode string) (*DeviceCode, *Client, error) {
	if s.devices == nil {
		return nil, nil, s.fail(ctx, "device verification", errors.New("the device grant is not enabled"))
	}
	code := NormalizeUserCode(userCode)
	if code == "" || len(code) > 64 {
		return nil, nil, errUnknownUserCode
	}
	d, err := s.devices.GetDeviceCodeByUserCode(ctx, HashToken(code))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errUnknownUserCode
	}
	if err != nil {
		return nil, nil, s.fail(ctx, "get device code by user code", err)
	}
	if s.expired(s.now(), d.ExpiresAt) {
		return nil, nil, errUnknownUserCode // as unknown: an application printing errors tells nothing more
	}
	if d.Status != DevicePending || !d.ConsumedAt.IsZero() {
		return nil, nil, fmt.Errorf("oauthgen: device authorization already decided: %w", ErrConsumed)
	}
	client, err := s.getClient(ctx, d.ClientID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, fmt.Errorf("oauthgen: the device's client is gone: %w", ErrNotFound)
	}
	if err != nil {
		return nil, nil, s.fail(ctx, "get client", err)
	}
	return d, client, nil
}
