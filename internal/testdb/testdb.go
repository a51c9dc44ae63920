// Package testdb gives tests real databases: a SQLite file, a fresh
// PostgreSQL schema on the server OAUTHGEN_TEST_POSTGRES names, a fresh
// MySQL database on the server OAUTHGEN_TEST_MYSQL names. Without the
// variable a test skips, saying how to enable it; with the variable set
// and the server unreachable, it fails.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Environment variables naming the test servers.
const (
	PostgresEnv = "OAUTHGEN_TEST_POSTGRES"
	MySQLEnv    = "OAUTHGEN_TEST_MYSQL"
)

// SQLite returns the path of a new SQLite database file, removed after the test.
func SQLite(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "oauth.db")
}

func randomName() string {
	var b [6]byte
	rand.Read(b[:])
	return "oauthgen_test_" + hex.EncodeToString(b[:])
}

// Postgres creates a schema on the server OAUTHGEN_TEST_POSTGRES names and
// returns a DSN whose search_path is that schema; the schema is dropped
// after the test.
func Postgres(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		t.Skipf("no PostgreSQL: set %s to a server's DSN to run this test (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", PostgresEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("%s is set but PostgreSQL is unreachable: %v", PostgresEnv, err)
	}
	defer conn.Close(ctx)
	schema := randomName()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(dsn, schema)
}

// withSearchPath sets search_path in a URL or key=value DSN; pgx sends
// unknown DSN keys as run-time parameters.
func withSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " search_path=" + schema
}

// MySQL creates a database on the server OAUTHGEN_TEST_MYSQL names and
// returns its DSN; the database is dropped after the test.
func MySQL(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(MySQLEnv)
	if dsn == "" {
		t.Skipf("no MySQL: set %s to a server's DSN to run this test (e.g. root@tcp(127.0.0.1:3306)/test)", MySQLEnv)
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", MySQLEnv, err)
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatalf("%s: %v", MySQLEnv, err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("%s is set but MySQL is unreachable: %v", MySQLEnv, err)
	}
	name := randomName()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	cfg.DBName = name
	return cfg.FormatDSN()
}

// ClearPostgres deletes every row of every table in the DSN's schema but
// goose's version tables: a fresh store without re-running migrations.
func ClearPostgres(ctx context.Context, t testing.TB, dsn string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE '%goose_db_version'")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) == 0 {
		return
	}
	if _, err := conn.Exec(ctx, "TRUNCATE "+strings.Join(tables, ", ")+" CASCADE"); err != nil {
		t.Fatal(err)
	}
}

// ClearMySQL deletes every row of every table in the DSN's database but
// goose's version tables.
func ClearMySQL(ctx context.Context, t testing.TB, dsn string) {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx) // FOREIGN_KEY_CHECKS is per session
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name NOT LIKE '%goose_db_version'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	stmts := []string{"SET FOREIGN_KEY_CHECKS = 0"}
	for _, table := range tables {
		stmts = append(stmts, "DELETE FROM "+table)
	}
	stmts = append(stmts, "SET FOREIGN_KEY_CHECKS = 1")
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}
