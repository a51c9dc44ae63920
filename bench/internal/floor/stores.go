package floor

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/mattn/go-sqlite3" // the driver the generated SQLite store uses
)

// Memory is a map behind a read-write lock.
type Memory struct {
	mu     sync.RWMutex
	tokens map[[32]byte]Record
}

func NewMemory() *Memory { return &Memory{tokens: make(map[[32]byte]Record)} }

func (m *Memory) Put(_ context.Context, hash []byte, r Record) error {
	m.mu.Lock()
	m.tokens[[32]byte(hash)] = r
	m.mu.Unlock()
	return nil
}

func (m *Memory) Get(_ context.Context, hash []byte) (Record, bool, error) {
	m.mu.RLock()
	r, ok := m.tokens[[32]byte(hash)]
	m.mu.RUnlock()
	return r, ok, nil
}

// SQLite is a SQLite file opened as the generated store opens it
// (mattn/go-sqlite3, WAL, synchronous=NORMAL, one writer connection, a pool
// of 8 readers), with one prepared INSERT and one prepared SELECT.
type SQLite struct {
	writer, reader *sql.DB
	insert, get    *sql.Stmt
}

func OpenSQLite(path string) (*SQLite, error) {
	dsn := "file:" + url.PathEscape(path) + "?_journal_mode=WAL&_busy_timeout=10000&_synchronous=NORMAL&_txlock=immediate"
	writer, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	writer.SetMaxOpenConns(1)
	reader, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	reader.SetMaxOpenConns(8)
	s := &SQLite{writer: writer, reader: reader}
	if _, err := writer.Exec(`CREATE TABLE IF NOT EXISTS tokens (
		hash BLOB PRIMARY KEY, client_id TEXT NOT NULL, scope TEXT NOT NULL, expires_at INTEGER NOT NULL)`); err != nil {
		return nil, err
	}
	if s.insert, err = writer.Prepare(`INSERT INTO tokens (hash, client_id, scope, expires_at) VALUES (?, ?, ?, ?)`); err != nil {
		return nil, err
	}
	if s.get, err = reader.Prepare(`SELECT client_id, scope, expires_at FROM tokens WHERE hash = ?`); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *SQLite) Put(ctx context.Context, hash []byte, r Record) error {
	_, err := s.insert.ExecContext(ctx, hash, r.ClientID, r.Scope, r.ExpiresAt.Unix())
	return err
}

func (s *SQLite) Get(ctx context.Context, hash []byte) (Record, bool, error) {
	var r Record
	var exp int64
	err := s.get.QueryRowContext(ctx, hash).Scan(&r.ClientID, &r.Scope, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, false, nil
	}
	r.ExpiresAt = time.Unix(exp, 0)
	return r, err == nil, err
}

func (s *SQLite) Close() error { return errors.Join(s.writer.Close(), s.reader.Close()) }

// Postgres is a pgx pool of pgxpool's default size, whose statement cache
// prepares the INSERT and the SELECT once per connection.
type Postgres struct{ pool *pgxpool.Pool }

func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS tokens (
		hash bytea PRIMARY KEY, client_id text NOT NULL, scope text NOT NULL, expires_at timestamptz NOT NULL)`); err != nil {
		pool.Close()
		return nil, err
	}
	return &Postgres{pool}, nil
}

func (p *Postgres) Put(ctx context.Context, hash []byte, r Record) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO tokens (hash, client_id, scope, expires_at) VALUES ($1, $2, $3, $4)`, hash, r.ClientID, r.Scope, r.ExpiresAt)
	return err
}

func (p *Postgres) Get(ctx context.Context, hash []byte) (Record, bool, error) {
	var r Record
	err := p.pool.QueryRow(ctx, `SELECT client_id, scope, expires_at FROM tokens WHERE hash = $1`, hash).Scan(&r.ClientID, &r.Scope, &r.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Record{}, false, nil
	}
	return r, err == nil, err
}

func (p *Postgres) Close() error { p.pool.Close(); return nil }
