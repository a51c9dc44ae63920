package runtime

import (
	"context"
	"errors"
	"net/url"
	"time"
)

// slowDownStep is what a poll that comes too soon adds to the interval
// (RFC 8628 §3.5).
const slowDownStep = 5 * time.Second

// grantDeviceCode is the device access token request (RFC 8628 §3.4,
// §3.5): authorization_pending until the user decides, slow_down (and a
// longer interval from then on) for polls closer than the interval,
// access_denied, expired_token; once approved, the device code is consumed
// by one atomic store call and a second redemption revokes the tokens of
// the first.
func (s *Server) grantDeviceCode(ctx context.Context, client *Client, form url.Values) (*issue, *Error) {
	value := form.Get("device_code")
	switch {
	case value == "":
		return nil, NewError(InvalidRequest, "device_code is required")
	case !isVSChars(value):
		return nil, NewError(InvalidRequest, "malformed device_code")
	}
	hash := HashToken(value)
	d, err := s.devices.GetDeviceCode(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, NewError(InvalidGrant, "unknown device_code")
	}
	if err != nil {
		return nil, s.fail(ctx, "get device code", err)
	}
	if d.ClientID != client.ID {
		return nil, NewError(InvalidGrant, "the device_code was issued to another client")
	}
	now := s.now()
	if !d.ConsumedAt.IsZero() {
		return nil, s.replayed(ctx, d.FamilyID, now)
	}
	if s.expired(now, d.ExpiresAt) {
		return nil, NewError(ExpiredToken, "the device_code has expired")
	}
	switch d.Status {
	case DeviceDenied:
		return nil, NewError(AccessDenied, "the user denied the authorization")
	case DeviceApproved:
		return &issue{
			client:   client,
			userID:   d.UserID,
			scopes:   d.Scopes,
			familyID: d.FamilyID,
			consume:  &Consumption{Kind: ConsumeDeviceCode, Hash: hash},
			replayed: func(ctx context.Context, now time.Time) *Error { return s.replayed(ctx, d.FamilyID, now) },
			refresh:  s.issuesRefresh(client),
			idToken:  s.idTokenFor(d.Scopes, "", d.DecidedAt),
			authTime: d.DecidedAt,
		}, nil
	}

	interval := d.Interval
	if interval <= 0 {
		interval = s.deviceInterval
	}
	tooSoon := !d.LastPolledAt.IsZero() && now.Sub(d.LastPolledAt) < interval
	if tooSoon {
		interval += slowDownStep
	}
	if !s.confirm(ctx) {
		return nil, errRedo // a second run would find this poll too soon
	}
	switch err := s.devices.PollDeviceCode(ctx, hash, DevicePoll{Previous: d.LastPolledAt, At: now, Interval: interval}); {
	case errors.Is(err, ErrConsumed):
		// A concurrent poll came first: this one is too soon by definition.
		return nil, NewError(SlowDown, "polling too often: wait 5 seconds more between requests")
	case err != nil && !errors.Is(err, ErrNotFound):
		return nil, s.fail(ctx, "poll device code", err)
	}
	if tooSoon {
		return nil, NewError(SlowDown, "polling too often: wait 5 seconds more between requests")
	}
	return nil, NewError(AuthorizationPending, "the user has not yet decided")
}
