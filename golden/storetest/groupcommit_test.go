package storetest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	appstore "github.com/oauthgen/oauthgen/golden/existing_users_sqlite"
	"github.com/oauthgen/oauthgen/runtime"
)

// requestKey carries a request's identity in its context, as a consumer's
// middleware would (the client's address, for an ip_address column).
type requestKey struct{}

// openGroupCommit opens the SQLite Store with an extra access token column
// and a client "c" whose tokens Issue creates.
func openGroupCommit(t *testing.T) *appstore.Store {
	t.Helper()
	s := openSQLite(t, appstore.Open, "CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, pw_hash TEXT NOT NULL)")
	must(t, s.ImportClient(context.Background(), &appstore.Client{Client: runtime.Client{
		ID: "c", SecretHash: runtime.HashToken("s"), GrantTypes: []string{"client_credentials"}, CreatedAt: time.Now()}}))
	return s
}

// queueBehindWriter starts issue(0) while the writer connection is held,
// so that it leads and waits; then issue(1..n-1), which queue behind it;
// then frees the writer. The leader commits its own issuance alone, then
// hands the queue, all n-1 others, to one transaction.
func queueBehindWriter(t *testing.T, s *appstore.Store, n int, issue func(i int)) {
	t.Helper()
	conn, err := s.DB().Conn(context.Background())
	must(t, err)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); issue(i) }()
		if i == 0 {
			time.Sleep(50 * time.Millisecond) // the leader first
		}
	}
	time.Sleep(200 * time.Millisecond) // the others queued
	conn.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Issue calls still blocked 10 s after the writer was freed: the group commit is wedged")
	}
}

// tokenFor is the access token Issuance of request i.
func tokenFor(i int) *runtime.Issuance {
	now := time.Now().UTC()
	return &runtime.Issuance{AccessToken: &runtime.AccessToken{Hash: fmt.Sprint("t", i), ClientID: "c", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}}
}

// TestGroupCommitHooksGetTheirOwnContext: NewAccessTokenExtra is promised
// the context of the request whose token it describes. Issuances that
// share a transaction must each get their own, not the leader's.
func TestGroupCommitHooksGetTheirOwnContext(t *testing.T) {
	s := openGroupCommit(t)
	s.NewAccessTokenExtra = func(ctx context.Context, t *runtime.AccessToken) appstore.AccessTokenExtra {
		ip, _ := ctx.Value(requestKey{}).(string)
		return appstore.AccessTokenExtra{IpAddress: &ip}
	}
	const n = 8
	errs := make([]error, n)
	queueBehindWriter(t, s, n, func(i int) {
		ctx := context.WithValue(context.Background(), requestKey{}, fmt.Sprint("192.0.2.", i))
		errs[i] = s.Issue(ctx, tokenFor(i))
	})
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Issue %d: %v", i, errs[i])
			continue
		}
		rec, err := s.AccessTokenRecord(context.Background(), fmt.Sprint("t", i))
		must(t, err)
		if want := fmt.Sprint("192.0.2.", i); rec.IpAddress == nil || *rec.IpAddress != want {
			got := "NULL"
			if rec.IpAddress != nil {
				got = *rec.IpAddress
			}
			t.Errorf("token %d: ip_address %s, want %s (its own request's)", i, got, want)
		}
	}
}

// TestGroupCommitSurvivesAPanic: a hook that panics for one issuance
// panics that caller, as it would without a group commit; the others
// sharing its transaction get their own results, and Issue keeps working.
func TestGroupCommitSurvivesAPanic(t *testing.T) {
	s := openGroupCommit(t)
	const n, bad = 6, 3
	s.NewAccessTokenExtra = func(ctx context.Context, t *runtime.AccessToken) appstore.AccessTokenExtra {
		if t.Hash == fmt.Sprint("t", bad) {
			panic("hook failure")
		}
		return appstore.AccessTokenExtra{}
	}
	errs := make([]error, n)
	panics := make([]any, n)
	queueBehindWriter(t, s, n, func(i int) {
		defer func() { panics[i] = recover() }()
		errs[i] = s.Issue(context.Background(), tokenFor(i))
	})
	for i := range n {
		switch {
		case i == bad && panics[i] != "hook failure":
			t.Errorf("Issue %d, whose hook panics: panic %v, error %v; want its hook's panic", i, panics[i], errs[i])
		case i != bad && (panics[i] != nil || errs[i] != nil):
			t.Errorf("Issue %d: panic %v, error %v; want it issued", i, panics[i], errs[i])
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.Issue(context.Background(), tokenFor(n)) }()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Issue after the panic is still blocked after 10 s: the group commit is wedged")
	}
}
