package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver of the generated SQLite store, for the checks

	"github.com/oauthgen/oauthgen/runtime"
)

// Kill ends the server with SIGKILL: no shutdown, requests in flight cut.
func (s *Server) Kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not exit within 15s of SIGKILL")
	}
}

// Figures sums up a Load for the test log.
type Figures struct {
	Requests, OK, Failed, NoResponse int
	Issued                           int
	Chains, Interrupted              int
}

// Count sums up the requests and tokens of a stopped load.
func (l *Load) Count() Figures {
	f := Figures{Requests: len(l.requests), Issued: len(l.issued), Chains: len(l.chains)}
	for _, r := range l.requests {
		switch {
		case r.Status == 0:
			f.NoResponse++
		case r.ok():
			f.OK++
		default:
			f.Failed++
		}
	}
	for _, c := range l.chains {
		if c.Interrupted != "" {
			f.Interrupted++
		}
	}
	return f
}

func (f Figures) String() string {
	return fmt.Sprintf("%d requests: %d answered 200 (302 for the consent form), %d other statuses, %d without a response; %d access tokens received; %d refresh chains, %d of them interrupted",
		f.Requests, f.OK, f.Failed, f.NoResponse, f.Issued, f.Chains, f.Interrupted)
}

// Snapshot is the token state of a generated store's database: every
// family with the access tokens, refresh tokens and authorization codes in
// it, keyed by hash.
type Snapshot struct {
	Families map[string]*Family
	Access   map[string]*Row
	Refresh  map[string]*Row
	Codes    map[string]*Row
}

// Family is a row of oauth_families with what belongs to it.
type Family struct {
	ID, ClientID                  string
	Revoked                       sql.NullTime
	Access, Refresh, Codes        []*Row
	consumedRefresh, codeConsumed int
}

// Row is a token or code: its hash, family and times.
type Row struct {
	Kind, Hash, FamilyID  string
	IssuedAt              time.Time
	ConsumedAt, RevokedAt sql.NullTime
}

func (r *Row) String() string {
	s := fmt.Sprintf("%s %s… issued %s", r.Kind, r.Hash[:12], r.IssuedAt.Format(time.RFC3339Nano))
	if r.ConsumedAt.Valid {
		s += ", consumed " + r.ConsumedAt.Time.Format(time.RFC3339Nano)
	}
	if r.RevokedAt.Valid {
		s += ", revoked " + r.RevokedAt.Time.Format(time.RFC3339Nano)
	}
	return s
}

// Read reads the oauth_ tables of a generated store (SQLite through
// mattn/go-sqlite3, PostgreSQL through pgx's database/sql driver: the
// queries are plain SQL both run).
func Read(t *testing.T, db *sql.DB) *Snapshot {
	t.Helper()
	s := &Snapshot{Families: map[string]*Family{}, Access: map[string]*Row{}, Refresh: map[string]*Row{}, Codes: map[string]*Row{}}
	rows, err := db.Query("SELECT id, client_id, revoked_at FROM oauth_families")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		f := &Family{}
		if err := rows.Scan(&f.ID, &f.ClientID, &f.Revoked); err != nil {
			t.Fatal(err)
		}
		s.Families[f.ID] = f
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		kind, query string
		into        map[string]*Row
	}{
		{"access token", "SELECT hash, family_id, issued_at, NULL, revoked_at FROM oauth_access_tokens", s.Access},
		{"refresh token", "SELECT hash, family_id, issued_at, consumed_at, revoked_at FROM oauth_refresh_tokens", s.Refresh},
		{"code", "SELECT hash, family_id, issued_at, consumed_at, NULL FROM oauth_authorization_codes", s.Codes},
	} {
		rows, err := db.Query(q.query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			r := &Row{Kind: q.kind}
			var family sql.NullString
			if err := rows.Scan(&r.Hash, &family, &r.IssuedAt, &r.ConsumedAt, &r.RevokedAt); err != nil {
				t.Fatalf("%s: %v", q.query, err)
			}
			r.FamilyID = family.String
			q.into[r.Hash] = r
			if !family.Valid {
				continue // client_credentials: no family
			}
			f := s.Families[r.FamilyID]
			if f == nil {
				t.Errorf("%s belongs to family %s, which does not exist", r, r.FamilyID)
				continue
			}
			switch q.kind {
			case "access token":
				f.Access = append(f.Access, r)
			case "refresh token":
				f.Refresh = append(f.Refresh, r)
				if r.ConsumedAt.Valid {
					f.consumedRefresh++
				}
			case "code":
				f.Codes = append(f.Codes, r)
				if r.ConsumedAt.Valid {
					f.codeConsumed++
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range s.Families {
		for _, rs := range [][]*Row{f.Access, f.Refresh, f.Codes} {
			slices.SortFunc(rs, func(a, b *Row) int { return a.IssuedAt.Compare(b.IssuedAt) })
		}
	}
	return s
}

// Describe says what the snapshot holds of a token or code: its row and
// its family's.
func (s *Snapshot) Describe(value string) string {
	h := runtime.HashToken(value)
	for _, m := range []map[string]*Row{s.Refresh, s.Access, s.Codes} {
		if r, ok := m[h]; ok {
			if f := s.Families[r.FamilyID]; f != nil {
				return r.String() + "; " + f.String()
			}
			return r.String()
		}
	}
	return "no row has its hash " + h[:12] + "…"
}

func (f *Family) String() string {
	s := fmt.Sprintf("family %s (client %s%s): %d access tokens, %d refresh tokens (%d consumed)",
		f.ID, f.ClientID, map[bool]string{true: ", revoked"}[f.Revoked.Valid], len(f.Access), len(f.Refresh), f.consumedRefresh)
	if len(f.Codes) > 0 {
		s += fmt.Sprintf(", %d codes (%d consumed)", len(f.Codes), f.codeConsumed)
	}
	last := f.Refresh
	if len(last) > 3 {
		last = last[len(last)-3:]
		s += "; newest refresh tokens"
	}
	for _, r := range last {
		s += "; " + r.String()
	}
	for _, r := range f.Codes {
		s += "; " + r.String()
	}
	return s
}

// CheckIssuance checks that every state change of a token request is
// there in full or not at all, family by family: a consumed code has the
// tokens its redemption issued and tokens from a code have the code
// consumed; every refresh token but the newest of a family is consumed,
// each consumption followed by the refresh token it issued (issued at or
// after the consumption); each refresh token came with one access token;
// and no family exists without the code or tokens it was created for.
// This holds for the load's chains because each client refreshes one
// request at a time and never reuses a token. Then it checks what the
// clients hold against the database: every access token from a 200 is
// stored, every chain's refresh token is stored, and a chain whose last
// refresh answered holds its family's newest, unconsumed refresh token.
func CheckIssuance(t *testing.T, s *Snapshot, l *Load) {
	t.Helper()
	chainOf := map[string]*Chain{} // family id → chain
	for _, c := range l.chains {
		if r := s.Refresh[runtime.HashToken(c.Held)]; r != nil {
			chainOf[r.FamilyID] = c
		}
	}
	name := func(f *Family) string {
		if c := chainOf[f.ID]; c != nil {
			return fmt.Sprintf("chain %d (from %s, %d refreshes)", c.ID, c.Origin, c.Refreshes)
		}
		return "a family no chain holds"
	}
	bad := 0
	report := func(f *Family, format string, args ...any) {
		t.Helper()
		bad++
		if bad <= 10 {
			t.Errorf("%s: %s\n\tdatabase: %s", name(f), fmt.Sprintf(format, args...), f)
		}
	}
	for _, f := range s.Families {
		issued := len(f.Access) > 0 || len(f.Refresh) > 0
		switch {
		case len(f.Codes) > 1:
			report(f, "%d codes in one family", len(f.Codes))
		case len(f.Codes) == 1 && f.codeConsumed == 1 && !issued:
			report(f, "its code was consumed but the tokens the redemption issued are not stored")
		case len(f.Codes) == 1 && f.codeConsumed == 0 && issued:
			report(f, "tokens are stored but the code they were issued for is not consumed")
		case len(f.Codes) == 0 && !issued:
			report(f, "the family was created without the tokens it was created for")
		}
		if !issued {
			continue
		}
		if len(f.Access) != len(f.Refresh) {
			report(f, "%d access tokens beside %d refresh tokens: each issuance stores one of each", len(f.Access), len(f.Refresh))
		}
		for i, r := range f.Refresh {
			newest := i == len(f.Refresh)-1
			switch {
			case newest && r.ConsumedAt.Valid:
				report(f, "its newest refresh token %s… was consumed, but the refresh token its rotation issued is not stored", r.Hash[:12])
			case !newest && !r.ConsumedAt.Valid:
				report(f, "refresh token %s… is not consumed, yet a newer one was issued in its family", r.Hash[:12])
			case !newest && f.Refresh[i+1].IssuedAt.Before(r.ConsumedAt.Time):
				report(f, "refresh token %s… was issued before its predecessor %s… was consumed", f.Refresh[i+1].Hash[:12], r.Hash[:12])
			}
		}
		for _, c := range f.Codes {
			if c.ConsumedAt.Valid && f.Refresh[0].IssuedAt.Before(c.ConsumedAt.Time) {
				report(f, "its first refresh token was issued before its code was consumed")
			}
		}
	}
	if bad > 10 {
		t.Errorf("… and %d more", bad-10)
	}

	missing := 0
	for _, i := range l.issued {
		if s.Access[runtime.HashToken(i.Access)] == nil {
			missing++
			if missing <= 5 {
				t.Errorf("an access token answered with 200 (%s%s) is not in the database", i.Grant, chainName(i.Chain))
			}
		}
	}
	for _, c := range l.chains {
		r := s.Refresh[runtime.HashToken(c.Held)]
		switch {
		case c.Failed != "":
		case r == nil:
			t.Errorf("chain %d (from %s, %d refreshes): the refresh token it holds is not in the database", c.ID, c.Origin, c.Refreshes)
		case c.Interrupted != "":
			// The request may or may not have committed; the family checks
			// above say whether it did so in full.
		case r.ConsumedAt.Valid || r.RevokedAt.Valid:
			t.Errorf("chain %d (from %s, %d refreshes): the refresh token from its last 200 is consumed or revoked, yet it never sent it\n\tdatabase: %s",
				c.ID, c.Origin, c.Refreshes, s.Describe(c.Held))
		}
	}
}

func chainName(c *Chain) string {
	if c == nil {
		return ""
	}
	return fmt.Sprintf(", chain %d", c.ID)
}

// CheckLoad fails the test for every answer no correct server gives the
// load's clients (a 4xx, a 200 without its tokens), outside the requests
// an outage may fail: those for which allowed returns true.
func CheckLoad(t *testing.T, l *Load, allowed func(Request) bool) {
	t.Helper()
	bad := 0
	for _, r := range l.requests {
		if r.ok() || allowed(r) {
			continue
		}
		bad++
		if bad <= 10 {
			t.Errorf("%s at %s: status %d %s, %v %s", r.Step, r.Start.Format("15:04:05.000"), r.Status, r.RedirectError, r.Err, r.Body)
		}
	}
	if bad > 10 {
		t.Errorf("… and %d more", bad-10)
	}
	for _, c := range l.chains {
		if c.Failed != "" {
			t.Errorf("chain %d (from %s): %s", c.ID, c.Origin, c.Failed)
		}
	}
}

// CheckTokens calls /me with every access token the load received: each
// must authenticate. No token of the load is revoked legitimately: a
// rotation leaves the access tokens of the family valid until they
// expire, and only a reuse or a replay, which the clients never make,
// revokes a family. It returns how many tokens were checked.
func CheckTokens(t *testing.T, base string, l *Load, s *Snapshot) int {
	t.Helper()
	var mu sync.Mutex
	bad := 0
	parallel(l.issued, func(i Issued) {
		status, err := me(base, i.Access)
		if status == http.StatusOK {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		bad++
		if bad <= 10 {
			t.Errorf("/me with an access token from a 200 (%s%s): %d %v\n\tdatabase as read after the crash: %s", i.Grant, chainName(i.Chain), status, err, s.Describe(i.Access))
		}
	})
	if bad > 10 {
		t.Errorf("… and %d more tokens fail at /me", bad-10)
	}
	return len(l.issued)
}

// ContinueChains refreshes every chain with the refresh token its client
// holds, as the client does after the outage, and checks the new access
// token at /me. It returns how many chains continued.
func ContinueChains(t *testing.T, base, appSecret string, l *Load, s *Snapshot) int {
	t.Helper()
	var mu sync.Mutex
	continued, bad := 0, 0
	live := slices.DeleteFunc(slices.Clone(l.chains), func(c *Chain) bool { return c.Failed != "" })
	parallel(live, func(c *Chain) {
		status, body, err := postToken(base, basic("app", appSecret), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {c.Held}})
		var problem string
		if status == http.StatusOK {
			if code, err := me(base, jsonField(body, "access_token")); code != http.StatusOK {
				problem = fmt.Sprintf("refreshed, but its new access token gets %d at /me %v", code, err)
			}
		} else {
			problem = fmt.Sprintf("refresh with the token it holds: %d %v %s", status, err, clip(strings.TrimSpace(body)))
		}
		mu.Lock()
		defer mu.Unlock()
		if problem == "" {
			continued++
			return
		}
		bad++
		if bad <= 10 {
			held := "the token from its last 200"
			if c.Interrupted != "" {
				held = "the token it sent when its last refresh got " + c.Interrupted
			}
			t.Errorf("chain %d (from %s, %d refreshes; holds %s): %s%s\n\tdatabase as read after the crash: %s",
				c.ID, c.Origin, c.Refreshes, held, problem, s.diagnose(c), s.Describe(c.Held))
		}
	})
	if bad > 10 {
		t.Errorf("… and %d more chains do not continue", bad-10)
	}
	return continued
}

// diagnose says what the database shows of a chain's last refresh, when
// the token the chain holds was consumed.
func (s *Snapshot) diagnose(c *Chain) string {
	r := s.Refresh[runtime.HashToken(c.Held)]
	if r == nil || !r.ConsumedAt.Valid || s.Families[r.FamilyID] == nil {
		return ""
	}
	f := s.Families[r.FamilyID]
	switch newest := f.Refresh[len(f.Refresh)-1]; {
	case newest == r:
		return "\n\tthe refresh it sent consumed the token, but the new tokens were never stored: the rotation was half done"
	case !newest.ConsumedAt.Valid && c.Interrupted != "":
		return "\n\tthe refresh it sent committed in full, but the answer never reached the client: continuing needs a refresh reuse interval (grants.refresh_token.reuse_interval)"
	}
	return ""
}

// parallel runs f on every item with 8 goroutines.
func parallel[T any](items []T, f func(T)) {
	ch := make(chan T)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				f(it)
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
}

var checkClient = &http.Client{Timeout: WriteTimeout + 5*time.Second}

func me(base, token string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, base+"/me", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := checkClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func postToken(base string, auth http.Header, form url.Values) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	for k, v := range auth {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := checkClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, err = io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String(), err
}

func jsonField(body, key string) string {
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	s, _ := m[key].(string)
	return s
}

// Received counts the access tokens the load received so far, by grant,
// and the chains with at least one refresh; safe while it runs.
func (l *Load) Received() (byGrant map[string]int, refreshed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	byGrant = map[string]int{}
	seen := map[*Chain]bool{}
	for _, i := range l.issued {
		byGrant[i.Grant]++
		if i.Grant == "refresh_token" && !seen[i.Chain] {
			seen[i.Chain] = true
			refreshed++
		}
	}
	return byGrant, refreshed
}

// Busy waits until the load has done some of everything (client
// credentials, codes redeemed, chains refreshed several times), at least
// min and at most 30s: the checks then have something to check, however
// slow the machine.
func (l *Load) Busy(t *testing.T, min time.Duration) {
	t.Helper()
	start := time.Now()
	time.Sleep(min)
	for {
		by, refreshed := l.Received()
		if by["client_credentials"] >= 10 && by["authorization_code"] >= 2 && by["password"] >= 2 && refreshed >= 2 && by["refresh_token"] >= 20 {
			return
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("after 30s the load has received only %v (%d chains refreshed): the server does not keep up", by, refreshed)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// OpenSQLite opens a quickstart database file with mattn/go-sqlite3, the
// driver the generated store uses.
func OpenSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?mode=rw&_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// CheckSQLite runs PRAGMA integrity_check (want "ok") and PRAGMA
// foreign_key_check (want no rows).
func CheckSQLite(t *testing.T, db *sql.DB) {
	t.Helper()
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	var result []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		result = append(result, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(result) != 1 || result[0] != "ok" {
		t.Errorf("PRAGMA integrity_check: %q, want ok", result)
	}
	rows, err = db.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			t.Fatal(err)
		}
		t.Errorf("PRAGMA foreign_key_check: row %d of %s has no row in %s (foreign key %d)", rowid.Int64, table, parent, fkid)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// Recovered waits, up to 20s, until a client_credentials request to base
// answers 200, and returns when it did.
func Recovered(t *testing.T, base string) time.Time {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body, err := postToken(base, basic("svc", svcSecret), url.Values{"grant_type": {"client_credentials"}})
		if status == http.StatusOK {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not recover within 20s of the database's return: last answer %d %v %s", status, err, clip(body))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// CheckOutage checks the load's requests around a database outage from
// down (the database stops) to up (the server answered again): none took
// as long as the write timeout; those overlapping the outage succeeded or
// failed with a 5xx, a JSON error for the token endpoint (the consent
// page answers HTML, and its form a redirect with error=server_error to
// the client); the others, like everything, succeeded. It returns
// how many requests failed during the outage, and fails the test if none
// did: then the outage was not tested.
func CheckOutage(t *testing.T, l *Load, down, up time.Time) (failed int) {
	t.Helper()
	var slowest time.Duration
	for _, r := range l.requests {
		d := r.End.Sub(r.Start)
		slowest = max(slowest, d)
		if d >= WriteTimeout {
			t.Errorf("%s at %s took %s, at least the server's write timeout: it hung while the database was away", r.Step, r.Start.Format("15:04:05.000"), d)
		}
	}
	during := func(r Request) bool { return r.End.After(down) && r.Start.Before(up) }
	CheckLoad(t, l, func(r Request) bool {
		switch {
		case !during(r) || r.Err != nil:
			return false
		case r.RedirectError != "":
			// The consent form answers the client, by redirect.
			failed++
			return r.RedirectError == "server_error" || r.RedirectError == "temporarily_unavailable"
		case r.Status >= 500:
			failed++
			return r.JSON || r.Step == "authorize"
		}
		return false
	})
	if failed == 0 {
		t.Errorf("no request failed between the database's stop and the server's recovery (%s): the outage was not tested", up.Sub(down).Round(time.Millisecond))
	}
	t.Logf("outage of %s: %d requests failed with a 5xx; slowest request of the run %s (write timeout %s)",
		up.Sub(down).Round(time.Millisecond), failed, slowest.Round(time.Millisecond), WriteTimeout)
	return failed
}
