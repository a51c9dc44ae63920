package runtime

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Limits of a client registration. Far above any real client's needs; they
// keep what pages show and databases store bounded.
const (
	MaxClientIDLength    = 255
	MaxClientNameLength  = 200
	MaxRedirectURILength = 2000
	maxClientListLength  = 100 // redirect URIs, grant types or scopes of one client
)

// ValidateClient checks a client registration before it is stored, so
// that every way in (CreateClient, ImportClient, UpdateClient, the CLI)
// refuses the same things. It needs no Server: cfg, when not nil, is the
// server's configuration, and then grant types must be enabled in it and
// scopes among its known ones (when it declares any).
//
// It refuses: a client id that is empty, longer than MaxClientIDLength or
// has anything but printable ASCII (no space, and none of < > " ' ` that
// pages would have to escape); a name with control characters or longer
// than MaxClientNameLength; redirect URIs that ValidateRedirectURI refuses;
// unknown grant types (the runtime's, "implicit", or an absolute URI for an
// extension grant); scopes that are not RFC 6749 §3.3 scope-tokens;
// duplicates in any list; a public client with client_credentials; a
// client of the authorization endpoint without a redirect URI; negative
// lifetimes. The error joins one error per problem.
func ValidateClient(c *Client, cfg *Config) error {
	if c == nil {
		return errors.New("no client")
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := validateClientID(c.ID); err != nil {
		errs = append(errs, err)
	}
	if len(c.Name) > MaxClientNameLength || !isUnicodeNoCRLF(c.Name) || strings.ContainsRune(c.Name, '\t') {
		add("client name: want at most %d characters of text without control characters", MaxClientNameLength)
	}
	for _, list := range []struct {
		what  string
		items []string
	}{{"redirect URIs", c.RedirectURIs}, {"grant types", c.GrantTypes}, {"scopes", c.Scopes}} {
		if len(list.items) > maxClientListLength {
			// Each item is not checked then: the work and the error stay bounded.
			add("%s: at most %d", list.what, maxClientListLength)
			return errors.Join(errs...)
		}
		seen := make(map[string]bool, len(list.items))
		for _, v := range list.items {
			if seen[v] {
				add("%s: %s is listed twice", list.what, quoteShort(v))
			}
			seen[v] = true
		}
	}
	for _, u := range c.RedirectURIs {
		if err := ValidateRedirectURI(u); err != nil {
			errs = append(errs, err)
		}
	}
	var enabled []string
	if cfg != nil {
		enabled = EnabledGrants(cfg)
	}
	for _, g := range c.GrantTypes {
		switch {
		case !knownGrant(g):
			add("grant type %s: unknown (want one of %s, or an absolute URI for an extension grant)",
				quoteShort(g), strings.Join(builtinGrants, ", "))
		case cfg != nil && !slices.Contains(enabled, g):
			add("grant type %s: not enabled on this server (enabled: %s)", quoteShort(g), strings.Join(enabled, ", "))
		}
	}
	for _, s := range c.Scopes {
		switch {
		case !isScopeToken(s):
			add("scope %s: not a scope token (RFC 6749 §3.3: printable ASCII without space, \" or \\)", quoteShort(s))
		case cfg != nil && len(cfg.Scopes) > 0 && !slices.Contains(cfg.Scopes, s):
			add("scope %s: not known to this server (known: %s)", quoteShort(s), strings.Join(cfg.Scopes, ", "))
		}
	}
	if c.Public() && c.AllowsGrant(GrantClientCredentials) {
		add("client_credentials needs a client that can authenticate: a public client may not use it")
	}
	if (c.AllowsGrant(GrantAuthorizationCode) || c.AllowsGrant(GrantImplicit)) && len(c.RedirectURIs) == 0 {
		add("the authorization code and implicit grants need a redirect URI")
	}
	if c.AccessTokenLifetime < 0 || c.RefreshTokenLifetime < 0 {
		add("token lifetimes must not be negative")
	}
	return errors.Join(errs...)
}

// validateClientID checks a client identifier: printable ASCII without
// space (RFC 6749 Appendix A.1 allows space; nothing needs it, and it
// breaks lists and logs), and without the characters HTML quotes.
func validateClientID(id string) error {
	if id == "" || len(id) > MaxClientIDLength {
		return fmt.Errorf("client id: want 1 to %d characters", MaxClientIDLength)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= 0x20 || c >= 0x7f || strings.IndexByte("<>\"'`", c) >= 0 {
			return fmt.Errorf("client id %s: want printable ASCII without space, < > \" ' or `", quoteShort(id))
		}
	}
	return nil
}

// builtinGrants are the grant types the runtime implements.
var builtinGrants = []string{GrantAuthorizationCode, GrantClientCredentials, GrantPassword, GrantRefreshToken, GrantDeviceCode, GrantImplicit}

// knownGrant reports whether g is a runtime grant type or an extension
// grant's absolute URI (RFC 6749 §4.5).
func knownGrant(g string) bool {
	return slices.Contains(builtinGrants, g) || strings.Contains(g, ":") && len(g) <= MaxRedirectURILength && isAbsoluteURI(g)
}

// EnabledGrants lists the grant types cfg enables, as the values a
// Client's GrantTypes holds; extension grants last, sorted.
func EnabledGrants(cfg *Config) []string {
	var gs []string
	for _, g := range []struct {
		on   bool
		name string
	}{
		{cfg.AuthorizationCode != nil, GrantAuthorizationCode},
		{cfg.ClientCredentials != nil, GrantClientCredentials},
		{cfg.Password != nil, GrantPassword},
		{cfg.RefreshToken != nil, GrantRefreshToken},
		{cfg.DeviceCode != nil, GrantDeviceCode},
		{cfg.Implicit != nil, GrantImplicit},
	} {
		if g.on {
			gs = append(gs, g.name)
		}
	}
	n := len(gs)
	for uri := range cfg.Extensions {
		gs = append(gs, uri)
	}
	slices.Sort(gs[n:])
	return gs
}

// ValidateRedirectURI checks a redirect URI for registration, and the
// engine checks every stored one again before it redirects to it (data
// imported past ValidateClient included). Accepted:
//
//   - https URIs with a host;
//   - http URIs on a loopback host, for native apps (RFC 8252 §7.3):
//     127.0.0.0/8, [::1] or localhost;
//   - private-use schemes with a dot, for native apps (RFC 8252 §7.1):
//     com.example.app:/callback.
//
// Always refused: relative URIs, fragments (RFC 6749 §3.1.2), user
// information (https://good.example@evil.example reads as good.example),
// whitespace, control and non-ASCII characters, an empty or out-of-range
// port, URIs longer than MaxRedirectURILength, and every other scheme:
// javascript:, data:, file:, vbscript:, blob:, ….
func ValidateRedirectURI(uri string) error {
	fail := func(why string) error { return fmt.Errorf("redirect URI %s: %s", quoteShort(uri), why) }
	if uri == "" {
		return fail("empty")
	}
	if len(uri) > MaxRedirectURILength {
		return fail(fmt.Sprintf("longer than %d bytes", MaxRedirectURILength))
	}
	for i := 0; i < len(uri); i++ {
		if c := uri[i]; c <= 0x20 || c >= 0x7f {
			return fail("whitespace, control or non-ASCII character (percent-encode it)")
		}
	}
	if strings.Contains(uri, "#") {
		return fail("must not have a fragment (RFC 6749 §3.1.2)")
	}
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() {
		return fail("want an absolute URI")
	}
	// url.Parse lower-cases the scheme; the string is compared as stored,
	// so a registration must write it in lower case too.
	if !strings.HasPrefix(uri, u.Scheme+":") {
		return fail("write the scheme in lower case")
	}
	if u.User != nil {
		return fail("must not have user information")
	}
	switch {
	case u.Scheme == "https" || u.Scheme == "http":
		if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
			return fail("want a host: " + u.Scheme + "://host/path")
		}
		if port, ok := portOf(u.Host); ok && !validPort(port) {
			return fail("port must be 1 to 65535")
		}
		if u.Scheme == "http" && !isLoopback(u.Hostname()) {
			return fail("http only on a loopback host (127.0.0.1, [::1], localhost: RFC 8252 §7.3); use https")
		}
	case strings.Contains(u.Scheme, "."):
		// A private-use scheme: reverse DNS of a domain the app's developer
		// controls (RFC 8252 §7.1). Its app, not a browser, receives it.
	default:
		return fail("want https, http on a loopback host, or a private-use scheme such as com.example.app (RFC 8252 §7.1)")
	}
	return nil
}

// portOf returns the port of host[:port], and whether it has a ":".
func portOf(hostport string) (string, bool) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 || strings.HasSuffix(hostport, "]") {
		return "", false
	}
	return hostport[i+1:], true
}

// validPort reports whether p is a decimal port in 1–65535.
func validPort(p string) bool {
	if p == "" || len(p) > 5 || strings.Trim(p, "0123456789") != "" {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		n = n*10 + int(p[i]-'0')
	}
	return n >= 1 && n <= 65535
}

// quoteShort quotes a value for an error message, cut to a short prefix:
// messages may reach logs and terminals, and must not echo kilobytes.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q…", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
