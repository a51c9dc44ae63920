package runtime

import (
	"context"
	"errors"
	"net/url"
)

// grantExtension runs an extension grant (RFC 6749 §4.5) registered in
// Config.Extensions. The handler authenticates what the request asserts;
// the scopes it grants are then checked like any other request's.
func (s *Server) grantExtension(ctx context.Context, grantType string, h ExtensionGrant, client *Client, form url.Values) (*issue, *Error) {
	requested, err := ParseScope(form.Get("scope"))
	if err != nil {
		return nil, asError(err)
	}
	// The hook gets the form without the client's secret: it has no use
	// for it and might log the form.
	form = cloneForm(form)
	form.Del("client_secret")
	// The hook may have effects (a spent assertion) a second run of the
	// request would trip on: confirm the count before it, not at Issue.
	if !s.confirm(ctx) {
		return nil, errRedo
	}
	res, err := h(ctx, &ExtensionRequest{Client: client.clone(), Form: form, Scopes: requested})
	if err != nil {
		return nil, s.hookError(ctx, "extension grant "+grantType, err)
	}
	if res == nil {
		return nil, s.fail(ctx, "extension grant "+grantType, errors.New("nil result without an error"))
	}
	scopes, e := s.grantScopes(ctx, ScopeRequest{GrantType: grantType, Client: client, UserID: res.UserID, Requested: res.Scopes})
	if e != nil {
		return nil, e
	}
	is := &issue{
		client:  client,
		userID:  res.UserID,
		scopes:  scopes,
		refresh: res.RefreshToken && s.issuesRefresh(client),
	}
	if s.cfg.AllowExtraTokenAttributes {
		is.extra = res.Extra
	}
	return is, nil
}

func cloneForm(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vv := range v {
		out[k] = append([]string(nil), vv...)
	}
	return out
}
