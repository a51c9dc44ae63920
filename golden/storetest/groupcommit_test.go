package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	acctstore "github.com/oauthgen/oauthgen/golden/existing_accounts_postgres"
	appstore "github.com/oauthgen/oauthgen/golden/existing_users_sqlite"
	"github.com/oauthgen/oauthgen/runtime"
)

// requestKey carries a request's identity in its context, as a consumer's
// middleware would (the client's address, for an ip_address column).
type requestKey struct{}

// groupCommitStore is a Store with a group commit and an ip_address
// column on access tokens, as the tests below use it. Its client "c" is
// the one tokenFor's tokens name.
type groupCommitStore struct {
	runtime.Store
	// setHook sets NewAccessTokenExtra to give hook's result as ip_address.
	setHook func(hook func(context.Context, *runtime.AccessToken) *string)
	// ipAddress reads a token's ip_address.
	ipAddress func(hash string) (*string, error)
	// hold blocks the Store's access token INSERTs until release.
	hold func(t *testing.T) (release func())
}

// groupCommitStores are the Stores whose Issue has a group commit: SQLite,
// where every issuance queues, and PostgreSQL, where lone access tokens do.
var groupCommitStores = map[string]func(t *testing.T) groupCommitStore{
	"sqlite": func(t *testing.T) groupCommitStore {
		s := openSQLite(t, appstore.Open, "CREATE TABLE accounts (account_id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, pw_hash TEXT NOT NULL)")
		must(t, s.ImportClient(context.Background(), &appstore.Client{Client: groupCommitClient()}))
		return groupCommitStore{
			Store: s,
			setHook: func(hook func(context.Context, *runtime.AccessToken) *string) {
				s.NewAccessTokenExtra = func(ctx context.Context, t *runtime.AccessToken) appstore.AccessTokenExtra {
					return appstore.AccessTokenExtra{IpAddress: hook(ctx, t)}
				}
			},
			ipAddress: func(hash string) (*string, error) {
				rec, err := s.AccessTokenRecord(context.Background(), hash)
				if err != nil {
					return nil, err
				}
				return rec.IpAddress, nil
			},
			// The one writer connection, taken from the Store's pool.
			hold: func(t *testing.T) func() {
				conn, err := s.DB().Conn(context.Background())
				must(t, err)
				return func() { conn.Close() }
			},
		}
	},
	"postgres": func(t *testing.T) groupCommitStore {
		s, _ := openPostgres(t, acctstore.New, (*acctstore.Store).Migrate, accountsTable)
		must(t, s.ImportClient(context.Background(), &acctstore.Client{Client: groupCommitClient()}))
		return groupCommitStore{
			Store: s,
			setHook: func(hook func(context.Context, *runtime.AccessToken) *string) {
				s.NewAccessTokenExtra = func(ctx context.Context, t *runtime.AccessToken) acctstore.AccessTokenExtra {
					return acctstore.AccessTokenExtra{IpAddress: hook(ctx, t)}
				}
			},
			ipAddress: func(hash string) (*string, error) {
				rec, err := s.AccessTokenRecord(context.Background(), hash)
				if err != nil {
					return nil, err
				}
				return rec.IpAddress, nil
			},
			// A lock that INSERTs wait for, held by a transaction of another
			// connection.
			hold: func(t *testing.T) func() {
				ctx := context.Background()
				tx, err := s.Pool().Begin(ctx)
				must(t, err)
				_, err = tx.Exec(ctx, "LOCK TABLE oauth_access_tokens IN SHARE ROW EXCLUSIVE MODE")
				must(t, err)
				return func() { tx.Rollback(ctx) }
			},
		}
	},
}

func groupCommitClient() runtime.Client {
	return runtime.Client{ID: "c", SecretHash: runtime.HashToken("s"), GrantTypes: []string{"client_credentials"}, CreatedAt: time.Now()}
}

// eachGroupCommitStore runs test on each Store with a group commit.
func eachGroupCommitStore(t *testing.T, test func(t *testing.T, s groupCommitStore)) {
	for name, open := range groupCommitStores {
		t.Run(name, func(t *testing.T) { test(t, open(t)) })
	}
}

// queueBehind starts issue(0) while s's writes are held, so that it leads
// and waits; then issue(1..n-1), which queue behind it; then releases the
// writes. The leader commits its own issuance alone, then hands the queue,
// all n-1 others, to the next batch (or batches, beyond maxBatch).
func queueBehind(t *testing.T, s groupCommitStore, n int, issue func(i int)) {
	t.Helper()
	release := s.hold(t)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); issue(i) }()
		if i == 0 {
			time.Sleep(50 * time.Millisecond) // the leader first
		}
	}
	time.Sleep(200 * time.Millisecond) // the others queued
	release()
	waitOrWedged(t, &wg, "Issue calls still blocked 10 s after the writes were released: the group commit is wedged")
}

// waitOrWedged waits for wg, failing the test if that takes 10 s: a
// caller left in the queue never returns.
func waitOrWedged(t *testing.T, wg *sync.WaitGroup, msg string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal(msg)
	}
}

// tokenFor is the access token Issuance of request i. Its times are whole
// seconds, which every database keeps exactly.
func tokenFor(i int) *runtime.Issuance {
	now := time.Now().UTC().Truncate(time.Second)
	return &runtime.Issuance{AccessToken: &runtime.AccessToken{Hash: fmt.Sprint("t", i), ClientID: "c", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}}
}

// TestGroupCommitHooksGetTheirOwnContext: NewAccessTokenExtra is promised
// the context of the request whose token it describes. Issuances that
// share a transaction must each get their own, not the leader's.
func TestGroupCommitHooksGetTheirOwnContext(t *testing.T) {
	eachGroupCommitStore(t, func(t *testing.T, s groupCommitStore) {
		s.setHook(func(ctx context.Context, t *runtime.AccessToken) *string {
			ip, _ := ctx.Value(requestKey{}).(string)
			return &ip
		})
		const n = 8
		errs := make([]error, n)
		queueBehind(t, s, n, func(i int) {
			ctx := context.WithValue(context.Background(), requestKey{}, fmt.Sprint("192.0.2.", i))
			errs[i] = s.Issue(ctx, tokenFor(i))
		})
		for i := range n {
			if errs[i] != nil {
				t.Errorf("Issue %d: %v", i, errs[i])
				continue
			}
			ip, err := s.ipAddress(fmt.Sprint("t", i))
			must(t, err)
			if want := fmt.Sprint("192.0.2.", i); ip == nil || *ip != want {
				got := "NULL"
				if ip != nil {
					got = *ip
				}
				t.Errorf("token %d: ip_address %s, want %s (its own request's)", i, got, want)
			}
		}
	})
}

// TestGroupCommitSurvivesAPanic: a hook that panics for one issuance
// panics that caller, as it would without a group commit; the others
// sharing its transaction get their own results, and Issue keeps working.
func TestGroupCommitSurvivesAPanic(t *testing.T) {
	eachGroupCommitStore(t, func(t *testing.T, s groupCommitStore) {
		const n, bad = 6, 3
		s.setHook(func(ctx context.Context, t *runtime.AccessToken) *string {
			if t.Hash == fmt.Sprint("t", bad) {
				panic("hook failure")
			}
			return nil
		})
		errs := make([]error, n)
		panics := make([]any, n)
		queueBehind(t, s, n, func(i int) {
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
	})
}

// TestGroupCommitDuplicateInBatch: one issuance of a batch has a hash
// already stored. The batch fails as a whole; nothing of it may stay
// applied, or the others, each then issued alone, would find their own
// tokens there and get runtime.ErrDuplicate. Only the duplicate does.
func TestGroupCommitDuplicateInBatch(t *testing.T) {
	eachGroupCommitStore(t, func(t *testing.T, s groupCommitStore) {
		const n, dup = 8, 7 // the duplicate last, after every other INSERT of its batch
		ctx := context.Background()
		stored := tokenFor(dup)
		must(t, s.Issue(ctx, stored))
		errs := make([]error, n)
		queueBehind(t, s, n, func(i int) {
			is := tokenFor(i)
			if i == dup {
				time.Sleep(50 * time.Millisecond) // queued last
				is.AccessToken.ExpiresAt = stored.AccessToken.ExpiresAt.Add(time.Hour)
			}
			errs[i] = s.Issue(ctx, is)
		})
		for i := range n {
			want := error(nil)
			if i == dup {
				want = runtime.ErrDuplicate
			}
			if !errors.Is(errs[i], want) {
				t.Errorf("Issue %d: %v, want %v", i, errs[i], want)
			}
			got, err := s.GetAccessToken(ctx, fmt.Sprint("t", i))
			if err != nil {
				t.Errorf("token %d: %v", i, err)
				continue
			}
			if i == dup && !got.ExpiresAt.Equal(stored.AccessToken.ExpiresAt) {
				t.Errorf("token %d expires %v, want %v: the duplicate overwrote the stored token", i, got.ExpiresAt, stored.AccessToken.ExpiresAt)
			}
		}
	})
}

// TestGroupCommitStaleCount: on SQLite, whose Issue compares IfChangeCount,
// an issuance with a stale count gets runtime.ErrChanged and stores
// nothing, whether it leads (alone: its INSERT compares) or is queued in a
// batch (one read of the count, in the batch's transaction, serves it all):
// the batch then fails, and each of its issuances runs alone, so the
// others, with the current count or none, are stored. A batch whose
// counts are all the same stale one is compared with the database's.
func TestGroupCommitStaleCount(t *testing.T) {
	const n, uncounted = 8, 3
	for _, c := range []struct {
		name  string
		stale []int
	}{
		{"leader", []int{0}},
		{"one_queued", []int{5}},
		{"all_counted_queued", []int{1, 2, 4, 5, 6, 7}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := groupCommitStores["sqlite"](t)
			store := s.Store.(*appstore.Store)
			ctx := context.Background()
			stale, _, err := store.ChangeCount(ctx)
			must(t, err)
			_, err = store.RotateClientSecret(ctx, "c")
			must(t, err)
			current, _, err := store.ChangeCount(ctx)
			must(t, err)
			errs := make([]error, n)
			queueBehind(t, s, n, func(i int) {
				is := tokenFor(i)
				switch {
				case slices.Contains(c.stale, i):
					is.IfChangeCount = &stale
				case i != uncounted:
					is.IfChangeCount = &current
				}
				errs[i] = s.Issue(ctx, is)
			})
			for i := range n {
				want, wantStored := error(nil), error(nil)
				if slices.Contains(c.stale, i) {
					want, wantStored = runtime.ErrChanged, runtime.ErrNotFound
				}
				if !errors.Is(errs[i], want) {
					t.Errorf("Issue %d: %v, want %v", i, errs[i], want)
				}
				if _, err := s.GetAccessToken(ctx, fmt.Sprint("t", i)); !errors.Is(err, wantStored) {
					t.Errorf("token %d: read back %v, want %v", i, err, wantStored)
				}
			}
		})
	}
}

// TestGroupCommitLeavesOutCallersGone: a caller whose context ends while
// it waits in the queue gets the context's error, and its token is not
// written; the others of its batch are.
func TestGroupCommitLeavesOutCallersGone(t *testing.T) {
	eachGroupCommitStore(t, func(t *testing.T, s groupCommitStore) {
		const n, gone = 6, 3
		ctx := context.Background()
		goneCtx, cancel := context.WithCancel(ctx)
		errs := make([]error, n)
		queueBehind(t, s, n, func(i int) {
			if i == gone {
				errs[i] = s.Issue(goneCtx, tokenFor(i))
				return
			}
			if i == gone+1 {
				time.Sleep(100 * time.Millisecond) // the others queued
				cancel()
			}
			errs[i] = s.Issue(ctx, tokenFor(i))
		})
		for i := range n {
			want, wantStored := error(nil), error(nil)
			if i == gone {
				want, wantStored = context.Canceled, runtime.ErrNotFound
			}
			if !errors.Is(errs[i], want) {
				t.Errorf("Issue %d: %v, want %v", i, errs[i], want)
			}
			if _, err := s.GetAccessToken(ctx, fmt.Sprint("t", i)); !errors.Is(err, wantStored) {
				t.Errorf("token %d: read back %v, want %v", i, err, wantStored)
			}
		}
	})
}

// TestGroupCommitManyCallers: many concurrent lone issuances, through
// batches of every size, each stored once and reported stored.
func TestGroupCommitManyCallers(t *testing.T) {
	eachGroupCommitStore(t, func(t *testing.T, s groupCommitStore) {
		const goroutines, each = 64, 20
		ctx := context.Background()
		errs := make([]error, goroutines*each)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range each {
					i := g*each + j
					errs[i] = s.Issue(ctx, tokenFor(i))
				}
			}()
		}
		waitOrWedged(t, &wg, "Issue calls still blocked after 10 s: the group commit is wedged")
		for i, err := range errs {
			if err != nil {
				t.Errorf("Issue %d: %v", i, err)
				continue
			}
			if _, err := s.GetAccessToken(ctx, fmt.Sprint("t", i)); err != nil {
				t.Errorf("token %d, reported issued: %v", i, err)
			}
		}
	})
}

// TestGroupCommitSharesTransactions: on PostgreSQL, lone access tokens
// queued together are inserted by shared transactions, at most maxBatch
// (64) each. The rows a transaction inserted carry its id as xmin.
func TestGroupCommitSharesTransactions(t *testing.T) {
	s := groupCommitStores["postgres"](t)
	pool := s.Store.(*acctstore.Store).Pool()
	const n = 100
	ctx := context.Background()
	errs := make([]error, n)
	queueBehind(t, s, n, func(i int) { errs[i] = s.Issue(ctx, tokenFor(i)) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Issue %d: %v", i, err)
		}
	}
	rows, err := pool.Query(ctx, "SELECT count(*) FROM oauth_access_tokens GROUP BY xmin::text ORDER BY 1")
	must(t, err)
	var sizes []int
	for rows.Next() {
		var size int
		must(t, rows.Scan(&size))
		sizes = append(sizes, size)
	}
	must(t, rows.Err())
	// The leader alone, then the 99 queued behind it: 64 and 35. A caller
	// slow to queue on a loaded machine may come after the release and
	// commit in a transaction of its own: a few, but never beyond 64 each.
	if len(sizes) < 3 || len(sizes) > 5 || sizes[len(sizes)-1] != 64 {
		t.Errorf("%d tokens queued together were inserted by transactions of %v tokens; want [1 35 64], give or take a late caller", n, sizes)
	}
}
