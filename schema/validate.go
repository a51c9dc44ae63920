package schema

import (
	"fmt"
	"go/token"
	"math"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// validate applies the defaults that depend on other keys and checks the
// rules a single value's kind cannot express. Rules skip values that
// failed to decode, so one mistake gives one error.
func (l *loader) validate(d *Declaration) {
	l.validateTop(d)
	l.validateGrants(d)
	l.validateLifetimes(d)
	l.validateScopes(d)
	l.validateBearer(d)
	l.validateStorage(d)
	l.validateOpenID(d)
}

// grantsKnown reports whether which grants are declared and enabled is
// known: no grant block, its enabled or drop key, nor a key directly under
// grants (perhaps a misspelled grant) failed to decode. A mistake in a
// grant's other options does not hide the rules that depend on grants.
func (l *loader) grantsKnown() bool {
	if l.failedAt("grants") {
		return false
	}
	for p := range l.failed {
		rest, ok := strings.CutPrefix(p, "grants.")
		if !ok {
			continue
		}
		block, key, nested := strings.Cut(rest, ".")
		if !nested || key == "enabled" || key == "drop" || strings.Contains(block, "[") {
			return false
		}
	}
	return true
}

// ok reports whether the rules about path may run: nothing at, above or
// below it failed to decode.
func (l *loader) ok(path string) bool { return !l.touched(path) }

func (l *loader) validateTop(d *Declaration) {
	if l.ok("version") && d.Version != 1 {
		l.errorf("version", "unsupported version %d; this oauthgen reads version 1", d.Version)
	}

	outOK := l.ok("out")
	if outOK && l.written["out"] {
		if msg := checkOut(d.Out); msg != "" {
			l.errorf("out", "%s", msg)
			outOK = false
		}
	}
	pkgOK := l.ok("package")
	if pkgOK && l.written["package"] {
		if msg := checkPackage(d.Package); msg != "" {
			l.errorf("package", "%s", msg)
			pkgOK = false
		} else if strings.ToLower(d.Package) != d.Package || strings.Contains(d.Package, "_") {
			l.warnf("package", "Go package names are short, lowercase, one word: %q", strings.ToLower(strings.ReplaceAll(d.Package, "_", "")))
		}
	}
	switch {
	case !l.written["out"] && !l.written["package"]:
		d.Package, d.Out = DefaultPackage, "./"+DefaultPackage
	case !l.written["out"] && pkgOK:
		d.Out = "./" + d.Package
	case !l.written["package"] && outOK:
		base := path.Base(path.Clean(d.Out))
		if checkPackage(base) != "" {
			l.errorAt(l.at("out"), "package", "not set, and the last element of out, %q, is not a Go package name: write package: <name>", base)
			break
		}
		d.Package = base
	}

	if l.ok("issuer") && l.written["issuer"] {
		if msg := checkIssuer(d.Issuer); msg != "" {
			l.errorf("issuer", "%s", msg)
		}
	}
}

// checkOut returns what is wrong with out ("" when nothing is).
func checkOut(out string) string {
	switch {
	case strings.TrimSpace(out) == "":
		return "want a folder, got an empty string"
	case strings.Contains(out, `\`):
		return fmt.Sprintf("write the folder with forward slashes, got %s", quote(out))
	case path.IsAbs(out) || filepath.IsAbs(out) || driveLetter(out):
		return fmt.Sprintf("want a folder relative to this file's folder, got the absolute path %s", quote(out))
	}
	return ""
}

// driveLetter reports whether out starts like a Windows absolute path
// ("C:"), which filepath.IsAbs sees only on Windows: the same declaration
// must be judged alike on every machine.
func driveLetter(out string) bool {
	return len(out) >= 2 && out[1] == ':' && ('a' <= out[0]|0x20 && out[0]|0x20 <= 'z')
}

// checkPackage returns what is wrong with name as the generated package's
// name ("" when nothing is).
func checkPackage(name string) string {
	switch {
	case !goPackageName.MatchString(name):
		return fmt.Sprintf("want a Go package name (letters, digits and underscores, not starting with a digit), got %s", quote(name))
	case token.IsKeyword(name):
		return fmt.Sprintf("%q is a Go keyword", name)
	case name == "_":
		return `"_" cannot name a package`
	case name == "main":
		return `"main" cannot be imported, and the generated package is imported by your server`
	}
	return ""
}

// checkIssuer applies RFC 8414 §2: an https URL with no query or fragment
// (http is allowed for loopback hosts, for development).
func checkIssuer(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return fmt.Sprintf("want an https URL such as https://auth.example.com, got %s", quote(issuer))
	}
	host := u.Hostname()
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	switch {
	case u.Scheme != "https" && !(u.Scheme == "http" && loopback):
		return fmt.Sprintf("want an https URL (http only for localhost), got %s", quote(issuer))
	case u.RawQuery != "" || u.ForceQuery:
		return "an issuer has no query (RFC 8414 §2)"
	case u.Fragment != "" || strings.Contains(issuer, "#"):
		return "an issuer has no fragment (RFC 8414 §2)"
	case u.User != nil:
		return "an issuer has no user information"
	}
	return ""
}

func (l *loader) validateGrants(d *Declaration) {
	g := &d.Grants
	for _, key := range GrantKeys() {
		p := "grants." + key
		if gr := g.Grant(key); gr != nil && gr.Drop && gr.Enabled && l.ok(p) {
			l.errorf(p+".drop", "drop: true drops the grant's tables and data; it needs enabled: false")
		}
	}
	if l.grantsKnown() {
		if len(d.EnabledGrants()) == 0 && len(g.Extensions) == 0 {
			l.errorf("grants", "no grant is enabled; declare at least one, such as client_credentials: {}")
		}
		if g.RefreshToken.On() && !d.IssuesRefreshTokens() {
			l.errorf("grants.refresh_token", "refresh tokens are enabled but no enabled grant issues them: enable authorization_code, password, device_code or an extension grant, or disable refresh_token (client_credentials and implicit never issue refresh tokens)")
		}
	}
	if g.Implicit.On() {
		l.warnf("grants.implicit", "the implicit grant is deprecated (RFC 9700 §2.1.2, dropped by OAuth 2.1); prefer authorization_code with PKCE")
	}
	if ac := g.AuthorizationCode; ac.On() && ac.AllowPlainPKCE {
		l.warnf("grants.authorization_code.allow_plain_pkce", "plain PKCE does not protect a code whose challenge leaks; every client can use S256 (RFC 7636 §4.2)")
	}

	if l.ok("grants.extensions") {
		seen := map[string]string{}
		for i, ext := range g.Extensions {
			p := indexPath("grants.extensions", i)
			if msg := checkExtension(ext); msg != "" {
				l.errorf(p, "%s", msg)
				continue
			}
			if first, dup := seen[ext]; dup {
				l.errorf(p, "duplicate extension grant (first at %s)", l.firstAtPath(first, p))
				continue
			}
			seen[ext] = p
		}
	}

	if dc := g.DeviceCode; dc != nil && l.ok("grants.device_code") {
		l.validateDeviceCode(d, dc)
	}
	if rt := g.RefreshToken; rt != nil && l.ok("grants.refresh_token.reuse_interval") {
		const p = "grants.refresh_token.reuse_interval"
		switch iv := rt.ReuseInterval; {
		case iv.Duration < 0 || iv.Duration > 5*time.Minute:
			l.errorf(p, "want from 0s to 5m, got %s: longer only widens the window in which a stolen token goes unnoticed", iv)
		case iv.Duration > 0 && !rt.Rotation:
			l.errorf(p, "a reuse interval needs rotation: true (without rotation a confidential client's token is never consumed)")
		}
	}
}

// checkExtension returns what is wrong with an extension grant type.
func checkExtension(ext string) string {
	if slices.Contains(GrantKeys(), ext) {
		return fmt.Sprintf("%q is a standard grant: declare grants.%s instead", ext, ext)
	}
	if ext == DeviceCodeGrantType {
		return "this is the device_code grant's type: declare grants.device_code instead"
	}
	if strings.IndexFunc(ext, unicode.IsSpace) >= 0 {
		return fmt.Sprintf("an extension grant type is an absolute URI, with no spaces; got %s", quote(ext))
	}
	u, err := url.Parse(ext)
	scheme, rest, _ := strings.Cut(ext, ":")
	if err != nil || !u.IsAbs() || scheme == "" || rest == "" || strings.Trim(rest, "/") == "" {
		return fmt.Sprintf("want an absolute URI such as urn:example:grant-type:partner, got %s", quote(ext))
	}
	return ""
}

// User code rules (RFC 8628 §6.1): enough symbols that codes are not
// guessable, few enough that people can type them.
const (
	minCharset      = 10
	minUserCodeLen  = 6
	maxUserCodeLen  = 20
	minUserCodeBits = 30
)

func (l *loader) validateDeviceCode(d *Declaration, dc *DeviceCode) {
	const base = "grants.device_code"
	if l.ok(base + ".interval") {
		iv := dc.Interval
		switch {
		case iv.Duration%time.Second != 0:
			l.errorf(base+".interval", "want whole seconds (the interval is sent in seconds), got %s", iv)
		case iv.Duration < time.Second || iv.Duration > time.Minute:
			l.errorf(base+".interval", "want from 1s to 60s, got %s", iv)
		case l.ok("lifetimes.device_code") && iv.Duration >= d.Lifetimes.DeviceCode.Duration:
			l.errorf(base+".interval", "the polling interval %s is not shorter than lifetimes.device_code (%s)", iv, d.Lifetimes.DeviceCode)
		}
	}

	charsetOK := l.ok(base + ".user_code.charset")
	if charsetOK {
		if msg := checkCharset(dc.UserCode.Charset); msg != "" {
			l.errorf(base+".user_code.charset", "%s", msg)
			charsetOK = false
		}
	}
	lengthOK := l.ok(base + ".user_code.length")
	if n := dc.UserCode.Length; lengthOK && (n < minUserCodeLen || n > maxUserCodeLen) {
		l.errorf(base+".user_code.length", "want from %d to %d characters, got %d", minUserCodeLen, maxUserCodeLen, n)
		lengthOK = false
	}
	if charsetOK && lengthOK {
		symbols := len(dc.UserCode.Charset)
		bits := float64(dc.UserCode.Length) * math.Log2(float64(symbols))
		if bits < minUserCodeBits {
			need := int(math.Ceil(minUserCodeBits / math.Log2(float64(symbols))))
			p := base + ".user_code.length"
			if !l.written[p] {
				p = base + ".user_code.charset"
			}
			l.errorf(p, "user codes of %d characters from %d symbols carry %.1f bits; at least %d are needed against guessing (RFC 8628 §5.1): use length %d or more",
				dc.UserCode.Length, symbols, bits, minUserCodeBits, need)
		}
	}
}

// checkCharset returns what is wrong with a user code charset.
func checkCharset(cs string) string {
	seen := map[rune]bool{}
	for _, r := range cs {
		switch {
		case r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)):
			return fmt.Sprintf("want ASCII letters and digits only, got %q", r)
		case seen[r]:
			return fmt.Sprintf("%q appears twice", r)
		case seen[unicode.ToUpper(r)] || seen[unicode.ToLower(r)]:
			return fmt.Sprintf("%q and %q differ only in case; people type user codes without minding case", unicode.ToLower(r), unicode.ToUpper(r))
		}
		seen[r] = true
	}
	if len(seen) < minCharset {
		return fmt.Sprintf("want at least %d distinct characters, got %d", minCharset, len(seen))
	}
	return ""
}

// Lifetime bounds: from 1s to what a sane server issues.
var lifetimeBounds = []struct {
	key      string
	get      func(*Lifetimes) Duration
	min, max time.Duration
}{
	{"access_token", func(l *Lifetimes) Duration { return l.AccessToken }, time.Second, 24 * time.Hour},
	{"refresh_token", func(l *Lifetimes) Duration { return l.RefreshToken }, time.Minute, 365 * 24 * time.Hour},
	{"authorization_code", func(l *Lifetimes) Duration { return l.AuthorizationCode }, time.Second, time.Hour},
	{"device_code", func(l *Lifetimes) Duration { return l.DeviceCode }, time.Minute, time.Hour},
}

func (l *loader) validateLifetimes(d *Declaration) {
	for _, b := range lifetimeBounds {
		p := "lifetimes." + b.key
		if !l.ok(p) {
			continue
		}
		v := b.get(&d.Lifetimes)
		switch {
		case v.Duration <= 0:
			l.errorf(p, "want a positive duration, got %s", v)
		case v.Duration%time.Second != 0:
			l.errorf(p, "want whole seconds (expires_in is sent in seconds), got %s", v)
		case v.Duration < b.min:
			l.errorf(p, "want at least %s, got %s", Duration{b.min}, v)
		case v.Duration > b.max:
			l.errorf(p, "want at most %s, got %s", Duration{b.max}, v)
		}
	}
	// A refresh token that dies before the access token it renews is
	// never useful: the client must start over when the access token ends.
	if l.ok("lifetimes.access_token") && l.ok("lifetimes.refresh_token") && d.Lifetimes.RefreshToken.Duration > 0 &&
		d.Lifetimes.RefreshToken.Duration < d.Lifetimes.AccessToken.Duration {
		// The default refresh lifetime outlives every allowed access
		// lifetime, so the refresh lifetime was written.
		l.errorf("lifetimes.refresh_token", "%s is shorter than lifetimes.access_token (%s): a refresh token must outlive the access tokens it renews, or clients log in again when each expires; make it at least %s (refresh tokens usually live days), or shorten access_token",
			d.Lifetimes.RefreshToken, d.Lifetimes.AccessToken, d.Lifetimes.AccessToken)
	}
	if v := d.Lifetimes.AuthorizationCode.Duration; v > 10*time.Minute && v <= time.Hour {
		l.warnf("lifetimes.authorization_code", "RFC 6749 §4.1.2 recommends authorization codes live at most 10m, got %s", d.Lifetimes.AuthorizationCode)
	}
}

// isScopeToken reports whether s is an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ).
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7E || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func (l *loader) validateScopes(d *Declaration) {
	check := func(key string, scopes []string) map[string]bool {
		p := "scopes." + key
		if !l.ok(p) {
			return nil
		}
		seen := map[string]string{}
		set := map[string]bool{}
		for i, s := range scopes {
			ip := indexPath(p, i)
			if !isScopeToken(s) {
				l.errorf(ip, "want a scope token: printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3); got %s", quote(s))
				continue
			}
			if first, dup := seen[s]; dup {
				l.errorf(ip, "duplicate scope %q (first at %s)", s, l.firstAtPath(first, ip))
				continue
			}
			seen[s] = ip
			set[s] = true
		}
		return set
	}
	known := check("known", d.Scopes.Known)
	check("default", d.Scopes.Default)
	if len(d.Scopes.Known) == 0 || !l.ok("scopes.known") || !l.ok("scopes.default") {
		return
	}
	for i, s := range d.Scopes.Default {
		if isScopeToken(s) && !known[s] {
			msg := fmt.Sprintf("default scope %q is not in scopes.known", s)
			if g := suggest(s, d.Scopes.Known); g != "" {
				msg += fmt.Sprintf("; did you mean %q?", g)
			}
			l.errorf(indexPath("scopes.default", i), "%s", msg)
		}
	}
}

func (l *loader) validateBearer(d *Declaration) {
	if !l.ok("bearer.realm") {
		return
	}
	for _, r := range d.Bearer.Realm {
		if r < 0x20 || r > 0x7E || r == '"' || r == '\\' {
			l.errorf("bearer.realm", "want printable ASCII without quotes or backslashes (the realm is sent in WWW-Authenticate), got %s", quote(d.Bearer.Realm))
			return
		}
	}
}

func (l *loader) validateStorage(d *Declaration) {
	st := &d.Storage
	prefixOK := l.ok("storage.table_prefix")
	if prefixOK && st.TablePrefix != "" && !sqlIdentifier.MatchString(st.TablePrefix) {
		l.errorf("storage.table_prefix", "want lowercase letters, digits and underscores, not starting with a digit, or nothing; got %s", quote(st.TablePrefix))
		prefixOK = false
	}
	l.validateTables(d, prefixOK)
	if st.Users != nil && !l.failed["storage.users"] {
		l.validateUsers(d)
	}
	l.validateExtraColumns(d)
	l.validateIndexes(d)
}

// tableNamePath is the key that decides the name of the table of kind.
func tableNamePath(d *Declaration, kind string) string {
	if kind == TableUsers && d.Storage.Users != nil {
		return "storage.users.table"
	}
	if t, ok := d.Storage.Tables[kind]; ok && t.Name != "" {
		return "storage.tables." + kind + ".name"
	}
	return "storage.table_prefix"
}

func (l *loader) validateTables(d *Declaration, prefixOK bool) {
	st := &d.Storage
	for _, kind := range TableKinds() {
		t, ok := st.Tables[kind]
		if !ok {
			continue
		}
		p := "storage.tables." + kind
		if l.failedAt(p) {
			continue
		}
		if kind == TableUsers && st.Users != nil {
			l.errorf(p, "the users table is your application's (storage.users.table); oauthgen neither names nor renames it")
			continue
		}
		// Each key is judged on its own: a mistake in one (an unknown
		// key beside it) does not hide the other's problems.
		nameOK, fromOK := l.ok(p+".name"), l.ok(p+".renamed_from")
		if nameOK && fromOK && t.Name == "" && t.RenamedFrom == "" && !l.below[p] {
			l.errorf(p, "set name, renamed_from or both; an empty override changes nothing")
			continue
		}
		if nameOK && t.Name != "" {
			if msg := checkSQLName("table", t.Name); msg != "" {
				l.errorf(p+".name", "%s", msg)
			}
		}
		if fromOK && t.RenamedFrom != "" {
			if msg := checkSQLName("table", t.RenamedFrom); msg != "" {
				l.errorf(p+".renamed_from", "%s", msg)
			} else if nameOK && t.RenamedFrom == d.TableName(kind) {
				l.errorf(p+".renamed_from", "%q is the table's name already; remove renamed_from once the rename has been generated", t.RenamedFrom)
			}
		}
	}

	// Every name, generated or mapped, must be a valid and distinct
	// table: oauthgen may create any of them when a grant is enabled later.
	// One error for a prefix too long for some kind, not one per table.
	longest := slices.MaxFunc(TableKinds(), func(a, b string) int { return len(a) - len(b) })
	prefixTooLong := false
	if n := len(st.TablePrefix) + len(longest); prefixOK && n > MaxIdentifierLength && tableNamePath(d, longest) == "storage.table_prefix" {
		l.errorf("storage.table_prefix", "too long: the %s table would be named %q, %d characters, and PostgreSQL keeps only %d; use at most %d characters",
			longest, d.TableName(longest), n, MaxIdentifierLength, MaxIdentifierLength-len(longest))
		prefixTooLong = true
	}
	// The clash checks compare the tables whose names are known: a name
	// whose key failed (or a prefix that failed) leaves out only its own
	// tables, so a clash shows in the same run as the other mistakes.
	owner := map[string]string{} // name → first kind
	kinds := map[string][]string{}
	for _, kind := range TableKinds() {
		name, p := d.TableName(kind), tableNamePath(d, kind)
		switch {
		case kind == TableUsers && st.Users != nil && (l.failed["storage.users"] || !l.ok("storage.users.table")):
			continue
		case p == "storage.table_prefix":
			if !prefixOK || prefixTooLong || !l.ok("storage.tables."+kind+".name") {
				continue
			}
			if msg := checkSQLName("table", name); msg != "" {
				l.errorf(p, "the %s table would be named %q: %s", kind, name, msg)
				continue
			}
		case !l.ok(p) || checkSQLName("table", name) != "":
			continue // reported with its key
		}
		if _, dup := owner[name]; !dup {
			owner[name] = kind
		}
		kinds[name] = append(kinds[name], kind)
	}
	// A clash is the fault of an explicit name, not of the prefix: report
	// it at each override or mapping involved.
	for _, kind := range TableKinds() {
		name := d.TableName(kind)
		p := tableNamePath(d, kind)
		if !slices.Contains(kinds[name], kind) || len(kinds[name]) < 2 || p == "storage.table_prefix" {
			continue
		}
		var others []string
		for _, k := range kinds[name] {
			if k != kind {
				others = append(others, k)
			}
		}
		what := "the " + others[0] + " table"
		if len(others) > 1 {
			what = "the " + strings.Join(others[:len(others)-1], ", ") + " and " + others[len(others)-1] + " tables"
		}
		l.errorf(p, "table name %q is also the name of %s", name, what)
	}
	renamed := map[string]string{}
	for _, kind := range TableKinds() {
		t := st.Tables[kind]
		p := "storage.tables." + kind + ".renamed_from"
		if t.RenamedFrom == "" || (kind == TableUsers && st.Users != nil) || !l.ok(p) || checkSQLName("table", t.RenamedFrom) != "" {
			continue
		}
		if other, ok := owner[t.RenamedFrom]; ok && other != kind {
			l.errorf(p, "%q is the current name of the %s table", t.RenamedFrom, other)
		} else if other, dup := renamed[t.RenamedFrom]; dup {
			l.errorf(p, "the %s table is renamed from %q too", other, t.RenamedFrom)
		}
		renamed[t.RenamedFrom] = kind
	}
}

func (l *loader) validateUsers(d *Declaration) {
	u := d.Storage.Users
	for _, c := range []struct{ path, what, name string }{
		{"storage.users.table", "table", u.Table},
		{"storage.users.id.column", "column", u.ID.Column},
		{"storage.users.username", "column", u.Username},
		{"storage.users.password_hash", "column", u.PasswordHash},
	} {
		if !l.ok(c.path) {
			continue
		}
		if msg := checkSQLName(c.what, c.name); msg != "" {
			l.errorf(c.path, "%s", msg)
		}
	}
	if l.ok("storage.users.password_hash") && u.PasswordHash != "" {
		switch u.PasswordHash {
		case u.Username:
			l.errorf("storage.users.password_hash", "%q is also the username column", u.PasswordHash)
		case u.ID.Column:
			l.errorf("storage.users.password_hash", "%q is also the id column", u.PasswordHash)
		}
	}
	if !d.Grants.Grant(GrantPassword).KeepsTables() {
		l.warnf("storage.users", "users are mapped but the password grant, the only one that reads them, is not declared")
	}
}

// tableMissing returns why extra columns or indexes cannot go on the
// table of kind ("" when they can); what is "columns" or "indexes".
func tableMissing(d *Declaration, kind, what string) string {
	switch {
	case kind == TableUsers && d.Storage.Users != nil:
		return fmt.Sprintf("the users table is your application's (storage.users.table: %s): add %s to it in your own migrations", d.Storage.Users.Table, what)
	case d.HasTable(kind):
		return ""
	case kind == TableUsers:
		if d.Grants.Password != nil {
			return "no users table is generated: grants.password drops its tables"
		}
		return "no users table is generated: only the password grant needs one (declare grants.password, or map your own table with storage.users)"
	case kind == TableRefreshTokens:
		if d.Grants.RefreshToken != nil {
			return "no refresh_tokens table: grants.refresh_token drops its tables"
		}
		return "no refresh_tokens table: grants.refresh_token is not declared"
	}
	return fmt.Sprintf("no %s table", kind)
}

func (l *loader) validateExtraColumns(d *Declaration) {
	grantsOK := l.grantsKnown() && !l.failedAt("storage.users")
	for _, kind := range extraColumnKinds {
		cols, ok := d.Storage.ExtraColumns[kind]
		if !ok {
			continue
		}
		p := "storage.extra_columns." + kind
		if grantsOK {
			if msg := tableMissing(d, kind, "columns"); msg != "" {
				l.errorf(p, "%s", msg)
			}
		}
		if l.failed[p] {
			continue
		}
		seen := map[string]string{}
		for i, c := range cols {
			cp := indexPath(p, i)
			if l.failed[cp] {
				continue
			}
			if l.ok(cp + ".name") {
				if msg := checkSQLName("column", c.Name); msg != "" {
					l.errorf(cp+".name", "%s", msg)
				} else if slices.Contains(d.Builtins(kind), c.Name) {
					l.errorf(cp+".name", "%q is a built-in column of the %s table", c.Name, kind)
				} else if first, dup := seen[c.Name]; dup {
					l.errorf(cp+".name", "duplicate column %q (first at %s)", c.Name, l.firstAtPath(first, cp+".name"))
				} else {
					seen[c.Name] = cp + ".name"
				}
			}
			if c.Default != nil && l.ok(cp+".type") {
				canon, msg := canonicalDefault(c.Type, *c.Default, l.tags[cp+".default"])
				if msg != "" {
					l.errorf(cp+".default", "%s", msg)
				} else {
					*c.Default = canon
				}
			}
		}
	}
}

// canonicalDefault checks a default against its column's type and returns
// it in one spelling per value, so the generator emits the same SQL
// whichever way YAML wrote it (0x10 and 16; 2024-01-02T03:04:05+01:00 in
// UTC).
func canonicalDefault(typ, lit, tag string) (string, string) {
	switch typ {
	case TypeText:
		if tag != "!!str" {
			return "", fmt.Sprintf("want a string for a text column, got %s (quote it: %q)", lit, lit)
		}
		return lit, ""
	case TypeInt64:
		n, err := strconv.ParseInt(lit, 0, 64)
		if tag != "!!int" || err != nil {
			return "", fmt.Sprintf("want an int64 integer, got %s", describeLiteral(lit, tag))
		}
		return strconv.FormatInt(n, 10), ""
	case TypeFloat64:
		var f float64
		var err error
		switch tag {
		case "!!int":
			var n int64
			n, err = strconv.ParseInt(lit, 0, 64)
			f = float64(n)
		case "!!float":
			f, err = strconv.ParseFloat(lit, 64)
		default:
			err = strconv.ErrSyntax
		}
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return "", fmt.Sprintf("want a finite number, got %s", describeLiteral(lit, tag))
		}
		return strconv.FormatFloat(f, 'g', -1, 64), ""
	case TypeBool:
		b, err := strconv.ParseBool(lit)
		if tag != "!!bool" || err != nil {
			return "", fmt.Sprintf("want true or false, got %s", describeLiteral(lit, tag))
		}
		return strconv.FormatBool(b), ""
	case TypeTime:
		if lit == "now" && tag == "!!str" {
			return lit, ""
		}
		t, err := time.Parse(time.RFC3339Nano, lit)
		if (tag != "!!str" && tag != "!!timestamp") || err != nil {
			return "", fmt.Sprintf("want an RFC 3339 timestamp such as 2024-01-02T15:04:05Z, or now; got %s", describeLiteral(lit, tag))
		}
		return t.UTC().Format(time.RFC3339Nano), ""
	}
	// An unknown type was reported when it was decoded.
	return lit, ""
}

func describeLiteral(lit, tag string) string {
	if tag == "!!str" {
		return quote(lit)
	}
	return lit
}

func (l *loader) validateIndexes(d *Declaration) {
	grantsOK := l.grantsKnown() && !l.failedAt("storage.users")
	for _, kind := range extraColumnKinds {
		idxs, ok := d.Storage.Indexes[kind]
		if !ok {
			continue
		}
		p := "storage.indexes." + kind
		if grantsOK {
			if msg := tableMissing(d, kind, "indexes"); msg != "" {
				l.errorf(p, "%s", msg)
				continue
			}
		}
		if l.failed[p] || l.failed["storage.extra_columns."+kind] {
			continue
		}
		// Each column once, though a duplicate extra column was declared.
		var cols []string
		for _, c := range d.ColumnNames(kind) {
			if !slices.Contains(cols, c) {
				cols = append(cols, c)
			}
		}
		seen := map[string]string{}
		for i, ix := range idxs {
			ip := indexPath(p, i)
			if !l.ok(ip) {
				continue
			}
			if len(ix.Columns) == 0 {
				l.errorf(ip+".columns", "want at least one column")
				continue
			}
			valid := true
			inIndex := map[string]bool{}
			for j, c := range ix.Columns {
				cp := indexPath(ip+".columns", j)
				switch {
				case !slices.Contains(cols, c):
					msg := fmt.Sprintf("no column %s in the %s table", quote(c), kind)
					if g := suggest(c, cols); g != "" {
						msg += fmt.Sprintf("; did you mean %q?", g)
					} else {
						msg += "; its columns: " + strings.Join(cols, ", ")
					}
					l.errorf(cp, "%s", msg)
					valid = false
				case inIndex[c]:
					l.errorf(cp, "column %q is already in this index", c)
					valid = false
				}
				inIndex[c] = true
			}
			if !valid {
				continue
			}
			key := strings.Join(ix.Columns, ", ")
			if first, dup := seen[key]; dup {
				l.errorf(ip, "duplicate index on (%s) (first at %s)", key, l.firstAtPath(first, ip))
				continue
			}
			seen[key] = ip
		}
	}
}
