package generator

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dave/jennifer/jen"
)

// poolPanicTest runs in a module of its own beside the emitted lookupPool,
// on a fake driver: a lookup whose scan, or whose driver, panics must give
// its slot back, or close would wait for it for ever; a lookup waits for a
// slot until its context ends.
const poolPanicTest = `package pool

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"io"
	"sync"
	"testing"
	"time"
)

const accessTokenLookup = "SELECT"

type fakeDriver struct{}
type fakeConn struct{}
type fakeStmt struct{}
type fakeRows struct{ key string }

func (fakeDriver) Open(string) (driver.Conn, error) { return fakeConn{}, nil }
func (fakeConn) Prepare(q string) (driver.Stmt, error) { return fakeStmt{}, nil }
func (fakeConn) PrepareContext(context.Context, string) (driver.Stmt, error) { return fakeStmt{}, nil }
func (fakeConn) Close() error { return nil }
func (fakeConn) Begin() (driver.Tx, error) { panic("no transactions") }
func (fakeStmt) Close() error { return nil }
func (fakeStmt) NumInput() int { return 1 }
func (fakeStmt) Exec([]driver.Value) (driver.Result, error) { panic("no Exec") }
func (fakeStmt) Query([]driver.Value) (driver.Rows, error) { panic("no Query") }
func (fakeStmt) QueryContext(_ context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return &fakeRows{key: args[0].Value.(string)}, nil
}
func (*fakeRows) Columns() []string { return []string{"a"} }
func (*fakeRows) Close() error { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	switch r.key {
	case "driver panics":
		panic("driver")
	case "missing":
		return io.EOF
	}
	dest[0] = r.key
	return nil
}

func init() { sql.Register("fake", fakeDriver{}) }

func TestLookupPanicGivesTheSlotBack(t *testing.T) {
	db, err := sql.Open("fake", "")
	if err != nil {
		t.Fatal(err)
	}
	p := newLookupPool(db, 2)
	// A lost slot makes lookups wait, here for ctx: then they fail.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	panicking := func(key string, scan func([]driver.Value) error) (recovered any) {
		defer func() { recovered = recover() }()
		p.lookUp(ctx, key, scan)
		return nil
	}
	for range 3 { // more than the pool has slots
		if r := panicking("k", func([]driver.Value) error { panic("scan") }); r != "scan" {
			t.Fatalf("a lookup whose scan panics: recovered %v", r)
		}
		if r := panicking("driver panics", func([]driver.Value) error { return nil }); r != "driver" {
			t.Fatalf("a lookup whose driver panics: recovered %v", r)
		}
	}
	var got any
	if err := p.lookUp(ctx, "k", func(v []driver.Value) error { got = v[0]; return nil }); err != nil || got != "k" {
		t.Fatalf("a lookup after the panics: %v, %v", got, err)
	}
	if err := p.lookUp(ctx, "missing", func([]driver.Value) error { return nil }); err != sql.ErrNoRows {
		t.Fatalf("a lookup of a missing key: %v, want sql.ErrNoRows", err)
	}
	closed := make(chan struct{})
	go func() {
		p.close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("close waits for a slot a panic lost")
	}
}

func TestLookupWaitsForASlotAsLongAsItsCaller(t *testing.T) {
	db, err := sql.Open("fake", "")
	if err != nil {
		t.Fatal(err)
	}
	p := newLookupPool(db, 2)
	defer p.close()
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	defer releaseAll() // before close, which waits for the slots
	held := make(chan struct{})
	done := make(chan error)
	for range 2 { // every slot, held by a scan
		go func() {
			done <- p.lookUp(context.Background(), "k", func([]driver.Value) error {
				held <- struct{}{}
				<-release
				return nil
			})
		}()
		<-held
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- p.lookUp(short, "k", func([]driver.Value) error { return nil }) }()
	select {
	case err := <-gaveUp:
		if err != context.DeadlineExceeded {
			t.Fatalf("a lookup waiting for a slot past its deadline: %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lookup waits for a slot past its context's end")
	}
	waiting := make(chan error, 1)
	go func() { waiting <- p.lookUp(context.Background(), "k", func([]driver.Value) error { return nil }) }()
	releaseAll()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-waiting; err != nil {
		t.Fatalf("a lookup that waited for a slot: %v", err)
	}
}
`

// TestLookupPoolPanics runs poolPanicTest against the lookupPool the
// generator emits. A panic cannot be caused from outside a generated
// Store, so the pool is compiled alone.
func TestLookupPoolPanics(t *testing.T) {
	g := &storeGen{f: jen.NewFile("pool")}
	g.emitLookupPool(1)
	var src bytes.Buffer
	if err := g.f.Render(&src); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":       "module pool\n\ngo 1.26\n",
		"pool.go":      src.String(),
		"pool_test.go": poolPanicTest,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-count=1", "-timeout=2m", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test of the emitted lookupPool: %v\n%s", err, out)
	}
}
