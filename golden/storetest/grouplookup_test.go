package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	acctstore "github.com/oauthgen/oauthgen/golden/existing_accounts_postgres"
	"github.com/oauthgen/oauthgen/internal/testdb"
	"github.com/oauthgen/oauthgen/runtime"
)

// lookupTracer counts the access token lookups a pool's connections send:
// those sent alone (GetAccessToken) and the size of each batch of them
// (GetAccessTokens).
type lookupTracer struct {
	mu      sync.Mutex
	alone   int
	batches []int
	// panics, when set, makes the next lookup sent, alone or batched, panic.
	panics atomic.Bool
}

func (l *lookupTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.Contains(data.SQL, "-- name: GetAccessToken :one") {
		if l.panics.CompareAndSwap(true, false) {
			panic("tracer panic")
		}
		l.mu.Lock()
		l.alone++
		l.mu.Unlock()
	}
	return ctx
}

func (l *lookupTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (l *lookupTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if q := data.Batch.QueuedQueries; len(q) > 0 && strings.Contains(q[0].SQL, "-- name: GetAccessTokens :batchone") {
		if l.panics.CompareAndSwap(true, false) {
			panic("tracer panic")
		}
		l.mu.Lock()
		l.batches = append(l.batches, data.Batch.Len())
		l.mu.Unlock()
	}
	return ctx
}

func (l *lookupTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (l *lookupTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// counts returns the lookups sent alone and the batch sizes so far, and
// starts counting again.
func (l *lookupTracer) counts() (alone int, batches []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	alone, batches = l.alone, l.batches
	l.alone, l.batches = 0, nil
	return alone, batches
}

// lookupStore is existing_accounts_postgres's Store (made with New, extra
// columns on its tokens) on a pool traced by the returned tracer, holding
// the tokens of lookupCases: some live, some revoked, some of a revoked
// family, some never stored. want maps each case's hash to the token
// GetAccessToken must return, nil for runtime.ErrNotFound.
func lookupStore(t *testing.T) (s *acctstore.Store, tracer *lookupTracer, want map[string]*runtime.AccessToken) {
	tracer = &lookupTracer{}
	s, _ = openPostgres(t, acctstore.New, (*acctstore.Store).Migrate, accountsTable,
		func(c *pgxpool.Config) { c.ConnConfig.Tracer = tracer })
	return s, tracer, fillLookupStore(t, s, tracer)
}

// fillLookupStore stores lookupStore's records in s.
func fillLookupStore(t *testing.T, s *acctstore.Store, tracer *lookupTracer) (want map[string]*runtime.AccessToken) {
	ctx := context.Background()
	must(t, s.ImportClient(ctx, &acctstore.Client{Client: groupCommitClient()}))
	now := time.Now().UTC().Truncate(time.Second)
	family := &runtime.Family{ID: "f", ClientID: "c", CreatedAt: now}
	must(t, s.Issue(ctx, &runtime.Issuance{Family: family}))
	familyRevoked := now.Add(-time.Minute)
	must(t, s.RevokeFamily(ctx, family.ID, familyRevoked))
	want = map[string]*runtime.AccessToken{}
	for i := range lookupCases {
		// Every token different, so that one answered with another's row shows.
		tok := &runtime.AccessToken{Hash: fmt.Sprint("h", i), ClientID: "c", Scopes: []string{fmt.Sprint("s", i)},
			IssuedAt: now, ExpiresAt: now.Add(time.Duration(i+1) * time.Minute)}
		switch i % 4 {
		case 0: // never stored
			want[tok.Hash] = nil
			continue
		case 1: // live
		case 2: // revoked
		case 3: // of a revoked family
			tok.FamilyID = family.ID
		}
		must(t, s.Issue(ctx, &runtime.Issuance{AccessToken: tok}))
		switch i % 4 {
		case 2:
			tok.RevokedAt = now.Add(-time.Duration(i) * time.Second)
			must(t, s.RevokeAccessToken(ctx, tok.Hash, tok.RevokedAt))
		case 3:
			tok.RevokedAt = familyRevoked
		}
		want[tok.Hash] = tok
	}
	tracer.counts()
	return want
}

// lookupCases is how many tokens lookupStore knows of.
const lookupCases = 40

// checkLookup reports where got, err differ from GetAccessToken's answer
// for want (nil: runtime.ErrNotFound).
func checkLookup(want *runtime.AccessToken, got *runtime.AccessToken, err error) error {
	switch {
	case want == nil && errors.Is(err, runtime.ErrNotFound):
		return nil
	case want == nil:
		return fmt.Errorf("got %+v, %v; want runtime.ErrNotFound", got, err)
	case err != nil:
		return fmt.Errorf("got %v; want %+v", err, want)
	case got.Hash != want.Hash || got.ClientID != want.ClientID || got.UserID != want.UserID || got.FamilyID != want.FamilyID ||
		!slices.Equal(got.Scopes, want.Scopes) || !got.IssuedAt.Equal(want.IssuedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.RevokedAt.Equal(want.RevokedAt):
		return fmt.Errorf("got %+v; want %+v", got, want)
	}
	return nil
}

// TestGroupedLookupsManyCallers: many concurrent lookups of live, revoked
// and unknown tokens, through batches of every size, each get exactly
// their own token's answer.
func TestGroupedLookupsManyCallers(t *testing.T) {
	s, _, want := lookupStore(t)
	const goroutines, each = 64, 20
	ctx := context.Background()
	errs := make([]error, goroutines*each)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				hash := fmt.Sprint("h", (g*7+j*13)%lookupCases)
				got, err := s.GetAccessToken(ctx, hash)
				if err := checkLookup(want[hash], got, err); err != nil {
					errs[g*each+j] = fmt.Errorf("GetAccessToken(%s): %v", hash, err)
				}
			}
		}()
	}
	waitOrWedged(t, &wg, "GetAccessToken calls still blocked after 10 s: the lookup queue is wedged")
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestGroupedLookupsShareRoundTrips: concurrent lookups go to PostgreSQL
// together, in pgx batches of at most maxBatch (64), and every lookup is
// sent once, in a batch or alone.
func TestGroupedLookupsShareRoundTrips(t *testing.T) {
	s, tracer, want := lookupStore(t)
	const goroutines, each = 32, 20
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				hash := fmt.Sprint("h", (g+j)%lookupCases)
				got, err := s.GetAccessToken(ctx, hash)
				if err := checkLookup(want[hash], got, err); err != nil {
					t.Errorf("GetAccessToken(%s): %v", hash, err)
				}
			}
		}()
	}
	waitOrWedged(t, &wg, "GetAccessToken calls still blocked after 10 s: the lookup queue is wedged")
	alone, batches := tracer.counts()
	sent := alone
	for _, n := range batches {
		sent += n
		if n < 2 || n > 64 {
			t.Errorf("a batch of %d lookups; want 2 to 64", n)
		}
	}
	if sent != goroutines*each {
		t.Errorf("%d lookups sent (%d alone, %d in batches of %v); want %d, each once", sent, alone, sent-alone, batches, goroutines*each)
	}
	if len(batches) == 0 {
		t.Errorf("%d concurrent lookups were all sent alone; want some in batches", goroutines*each)
	}
	t.Logf("%d lookups: %d alone, %d batches, largest %d", sent, alone, len(batches), slices.Max(append(batches, 0)))
}

// TestGroupedLookupsLeaderGoneMidBatch: the leader of a batch gives up
// while its batch waits on PostgreSQL. The batch fails under the leader's
// context, the leader gets its context's error, and every other caller of
// the batch, looking its token up again under its own context, gets its
// right answer.
func TestGroupedLookupsLeaderGoneMidBatch(t *testing.T) {
	s, _, want := lookupStore(t)
	ctx := context.Background()
	// A lock that lookups wait for, held by a transaction of another connection.
	tx, err := s.Pool().Begin(ctx)
	must(t, err)
	_, err = tx.Exec(ctx, "LOCK TABLE oauth_access_tokens IN ACCESS EXCLUSIVE MODE")
	must(t, err)
	defer tx.Rollback(ctx)

	const n = 8 // 0 leads alone, 1 leads the batch of 1 to n-1
	ctxs := make([]context.Context, n)
	cancels := make([]context.CancelFunc, n)
	for i := range n {
		ctxs[i], cancels[i] = context.WithCancel(ctx)
		defer cancels[i]()
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hash := fmt.Sprint("h", i)
			got, err := s.GetAccessToken(ctxs[i], hash)
			if i < 2 {
				if !errors.Is(err, context.Canceled) {
					errs[i] = fmt.Errorf("caller %d, gone: got %+v, %v; want context.Canceled", i, got, err)
				}
				return
			}
			if err := checkLookup(want[hash], got, err); err != nil {
				errs[i] = fmt.Errorf("caller %d, GetAccessToken(%s): %v", i, hash, err)
			}
		}()
		if i < 2 {
			time.Sleep(50 * time.Millisecond) // 0 leads, then 1 is first in the queue
		}
	}
	time.Sleep(200 * time.Millisecond) // the others queued behind 1
	cancels[0]()                       // 0's lookup ends; 1 leads the batch of the others
	time.Sleep(200 * time.Millisecond) // the batch waits for the lock
	cancels[1]()                       // the batch fails
	time.Sleep(100 * time.Millisecond) // the others look up again, alone
	tx.Rollback(ctx)
	waitOrWedged(t, &wg, "GetAccessToken calls still blocked 10 s after the lock was released: the lookup queue is wedged")
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestGroupedLookupsSeeRevocation: a lookup that starts after
// RevokeAccessToken returned finds the token revoked, however many
// lookups of it are out then: no answer is shared with one sent earlier.
func TestGroupedLookupsSeeRevocation(t *testing.T) {
	s, _, want := lookupStore(t)
	ctx := context.Background()
	const hash = "h1" // live
	if want[hash] == nil || !want[hash].RevokedAt.IsZero() {
		t.Fatalf("%s is not a live token", hash)
	}
	var revoked, stop atomic.Bool
	var stale atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				after := revoked.Load()
				got, err := s.GetAccessToken(ctx, hash)
				if err != nil {
					t.Errorf("GetAccessToken: %v", err)
					return
				}
				if after && got.RevokedAt.IsZero() {
					stale.Add(1)
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	must(t, s.RevokeAccessToken(ctx, hash, time.Now()))
	revoked.Store(true)
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	waitOrWedged(t, &wg, "GetAccessToken calls still blocked after 10 s: the lookup queue is wedged")
	if n := stale.Load(); n > 0 {
		t.Errorf("%d lookups started after RevokeAccessToken returned found the token live", n)
	}
}

// TestGroupedLookupsQueuedCallerLeaves: a caller queued behind a lookup
// that hangs (here on a table lock; a dead connection would do the same)
// returns when its own context ends, and the queue goes on serving once
// the hung lookup returns.
func TestGroupedLookupsQueuedCallerLeaves(t *testing.T) {
	s, _, want := lookupStore(t)
	ctx := context.Background()
	tx, err := s.Pool().Begin(ctx)
	must(t, err)
	_, err = tx.Exec(ctx, "LOCK TABLE oauth_access_tokens IN ACCESS EXCLUSIVE MODE")
	must(t, err)
	defer tx.Rollback(ctx)

	var wg sync.WaitGroup
	var leaderErr error
	wg.Add(1)
	go func() { // leads, under a context without a deadline, and waits for the lock
		defer wg.Done()
		got, err := s.GetAccessToken(ctx, "h1")
		leaderErr = checkLookup(want["h1"], got, err)
	}()
	time.Sleep(100 * time.Millisecond)
	for i := range 3 { // queued behind it, each with a short deadline
		c, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		done := make(chan error, 1)
		go func() {
			_, err := s.GetAccessToken(c, fmt.Sprint("h", 2+i))
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("queued lookup %d with a 200 ms deadline: %v; want context.DeadlineExceeded", i, err)
			}
		case <-time.After(2 * time.Second):
			tx.Rollback(ctx) // let the waiting calls end
			t.Fatalf("queued lookup %d with a 200 ms deadline still waiting after 2 s, behind the hung lookup", i)
		}
	}
	tx.Rollback(ctx)
	waitOrWedged(t, &wg, "the leader's lookup still blocked 10 s after the lock was released")
	if leaderErr != nil {
		t.Errorf("leader: %v", leaderErr)
	}
	for hash, tok := range want {
		got, err := s.GetAccessToken(ctx, hash)
		if err := checkLookup(tok, got, err); err != nil {
			t.Errorf("after the callers left, GetAccessToken(%s): %v", hash, err)
		}
	}
}

// TestGroupedLookupsPanic: a panic while a lookup is sent (in a pgx tracer)
// reaches a caller, and leaves the queue serving: the lead is handed over
// and the batch's other callers get their answers.
func TestGroupedLookupsPanic(t *testing.T) {
	ctx := context.Background()
	tracer := &lookupTracer{}
	cfg, err := pgxpool.ParseConfig(testdb.Postgres(t))
	must(t, err)
	cfg.ConnConfig.Tracer = tracer
	// Never closed: pgx keeps the connection a panicking tracer had
	// acquired (pgx's doing, not the Store's), and Close would wait for it.
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	must(t, err)
	_, err = pool.Exec(ctx, accountsTable)
	must(t, err)
	s := acctstore.New(pool)
	must(t, s.Migrate(ctx))
	want := fillLookupStore(t, s, tracer)
	lookUp := func(hash string) (panicked bool, err error) {
		defer func() {
			if recover() != nil {
				panicked = true
			}
		}()
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		got, err := s.GetAccessToken(c, hash)
		return false, checkLookup(want[hash], got, err)
	}
	tracer.panics.Store(true) // a lookup alone
	if panicked, _ := lookUp("h1"); !panicked {
		t.Fatal("the tracer's panic did not reach the caller")
	}
	if _, err := lookUp("h1"); err != nil {
		t.Fatalf("the lookup after a panic: %v", err)
	}

	// In a batch: many callers at once, one panic among their round trips.
	const goroutines, each = 16, 20
	var wg sync.WaitGroup
	var panics atomic.Int32
	errs := make(chan error, goroutines*each)
	tracer.panics.Store(true)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				hash := fmt.Sprint("h", (g*each+i)%lookupCases)
				panicked, err := lookUp(hash)
				if panicked {
					panics.Add(1)
				} else if err != nil {
					errs <- fmt.Errorf("GetAccessToken(%s): %v", hash, err)
				}
			}
		}()
	}
	waitOrWedged(t, &wg, "GetAccessToken calls still blocked 10 s after a panic: the lookup queue is wedged")
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := panics.Load(); n != 1 {
		t.Errorf("%d callers saw the panic; want exactly 1", n)
	}
}
