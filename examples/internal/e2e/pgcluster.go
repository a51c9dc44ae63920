package e2e

import (
	"cmp"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for the checks

	"github.com/oauthgen/oauthgen/internal/testdb"
)

// PGBinEnv names a folder holding initdb and pg_ctl, when they are not on
// PATH nor in /usr/lib/postgresql/*/bin.
const PGBinEnv = "OAUTHGEN_TEST_PG_BIN"

// Postgres is a PostgreSQL cluster of the test's own, in a temporary
// folder, listening on 127.0.0.1 only: a test may stop and restart it
// without taking the database of any other test with it.
type Postgres struct {
	// DSN connects to its "postgres" database as the "postgres" role.
	DSN string

	bin, dir string
	runAs    string // the OS user to run as; "" for this process's
}

// StartPostgres creates a cluster (initdb) and starts it; cleanup stops it
// and removes its folder. Without the PostgreSQL binaries the test skips,
// unless OAUTHGEN_TEST_POSTGRES is set: then PostgreSQL tests are asked
// for and a silent skip would hide that this one did not run, so it fails.
// As root it runs them as the "postgres" OS user (initdb refuses root).
func StartPostgres(t *testing.T) *Postgres {
	t.Helper()
	bin := pgBin()
	if dir := os.Getenv(PGBinEnv); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
			t.Fatalf("%s=%s: %v", PGBinEnv, dir, err)
		}
	}
	if bin == "" {
		msg := "no PostgreSQL binaries (initdb, pg_ctl): install PostgreSQL's server package or set " + PGBinEnv + " to their folder"
		if os.Getenv(testdb.PostgresEnv) != "" {
			t.Fatalf("%s is set, but this test runs a cluster of its own: %s", testdb.PostgresEnv, msg)
		}
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "oauthgen-pg-") // not t.TempDir: its parents are closed to the postgres user
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &Postgres{bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		u, err := osuser.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL must run as another user, and there is no \"postgres\" user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.runAs = "postgres"
	}
	data := filepath.Join(dir, "data")
	p.run(t, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // a small window in which another process could take it; start then fails clearly
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"+
		"max_connections = 40\nshared_buffers = 16MB\n"+
		// The test crashes PostgreSQL, not the machine: what was written
		// survives without fsync, and the shared machine is spared it.
		"fsync = off\n", port)
	f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	p.Start(t)
	t.Cleanup(func() { p.pgCtl(t, "stop", "-m", "immediate") })
	return p
}

// Start starts the cluster and waits until it accepts connections (after
// a crash, once it has recovered).
func (p *Postgres) Start(t *testing.T) {
	t.Helper()
	p.pgCtl(t, "start", "-l", filepath.Join(p.dir, "log"))
}

// Crash stops the cluster as a crash would: pg_ctl's immediate mode ends
// every process without a checkpoint, and the next start recovers from
// the WAL.
func (p *Postgres) Crash(t *testing.T) {
	t.Helper()
	p.pgCtl(t, "stop", "-m", "immediate")
}

func (p *Postgres) pgCtl(t *testing.T, args ...string) {
	t.Helper()
	p.run(t, "pg_ctl", append([]string{"-D", filepath.Join(p.dir, "data"), "-w", "-t", "30"}, args...)...)
}

func (p *Postgres) run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	if p.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", p.runAs, "--", filepath.Join(p.bin, name)}, args...)...)
	}
	cmd.Dir = p.dir // the test's folder may be closed to the postgres user
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", name, strings.Join(args, " "), err, out, log)
	}
}

// pgBin finds the folder of initdb and pg_ctl: $OAUTHGEN_TEST_PG_BIN,
// PATH, or the newest /usr/lib/postgresql/*/bin (Debian's layout).
func pgBin() string {
	if dir := os.Getenv(PGBinEnv); dir != "" {
		return dir
	}
	if path, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(path)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // 9.6 < 10 < 15
		va, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(a)), 64)
		vb, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(b)), 64)
		return cmp.Compare(va, vb)
	})
	for _, d := range slices.Backward(dirs) {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

// CheckPostgres checks the integrity of the oauth_ tables in the
// cluster's database: every B-tree index of them against its table
// (amcheck's bt_index_check with heapallindexed: each row is in each
// index, and each index is well ordered), and every foreign key, by an
// anti-join per constraint.
func CheckPostgres(t *testing.T, db *sql.DB) {
	t.Helper()
	if _, err := db.Exec("CREATE EXTENSION IF NOT EXISTS amcheck"); err != nil {
		t.Fatalf("amcheck, PostgreSQL's contrib module, is needed for the integrity check: %v", err)
	}
	var indexes int
	err := db.QueryRow(`SELECT count(bt_index_check(i.indexrelid, true)) FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
		WHERE am.amname = 'btree' AND i.indrelid::regclass::text LIKE 'oauth\_%'`).Scan(&indexes)
	if err != nil {
		t.Errorf("index check: %v", err)
	}
	rows, err := db.Query(`SELECT c.conname, c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname
		FROM pg_constraint c
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
		JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
		WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND c.conrelid::regclass::text LIKE 'oauth\_%'`)
	if err != nil {
		t.Fatal(err)
	}
	type fk struct{ name, table, column, ref, refColumn string }
	var fks []fk
	for rows.Next() {
		var k fk
		if err := rows.Scan(&k.name, &k.table, &k.column, &k.ref, &k.refColumn); err != nil {
			t.Fatal(err)
		}
		fks = append(fks, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if indexes == 0 || len(fks) == 0 {
		t.Fatalf("found %d indexes and %d foreign keys on oauth_ tables: nothing was checked", indexes, len(fks))
	}
	for _, k := range fks {
		var n int
		q := fmt.Sprintf("SELECT count(*) FROM %s t WHERE t.%s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s r WHERE r.%s = t.%s)",
			k.table, k.column, k.ref, k.refColumn, k.column)
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			t.Errorf("foreign key %s: %d rows of %s.%s have no %s", k.name, n, k.table, k.column, k.ref)
		}
	}
	t.Logf("PostgreSQL integrity: %d B-tree indexes verified against their tables, %d foreign keys hold", indexes, len(fks))
}
