package storetest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/oauthgen/oauthgen/runtime/runtimetest"
)

// execFunc runs one statement on a Store's database.
type execFunc func(ctx context.Context, sql string) error

// tableNames names a Store's table of each record kind.
type tableNames map[runtimetest.Record]string

// defaultTables are the tables of a declaration without custom names.
var defaultTables = tableNames{
	runtimetest.RecordFamily:            "oauth_families",
	runtimetest.RecordAuthorizationCode: "oauth_authorization_codes",
	runtimetest.RecordDeviceCode:        "oauth_device_codes",
	runtimetest.RecordAccessToken:       "oauth_access_tokens",
	runtimetest.RecordRefreshToken:      "oauth_refresh_tokens",
}

// faultSQL is how a dialect makes the writes of a table fail: a trigger
// that raises, created by create and dropped by drop. consume limits it to
// UPDATEs that set consumed_at.
type faultSQL struct {
	create func(table string, consume bool) []string
	drop   func(table string) []string
}

// The fault triggers of each dialect.
var (
	sqliteFaults = faultSQL{
		create: func(table string, consume bool) []string {
			when := "BEFORE INSERT ON " + table
			if consume {
				when = "BEFORE UPDATE OF consumed_at ON " + table + " WHEN NEW.consumed_at IS NOT OLD.consumed_at"
			}
			return []string{fmt.Sprintf("CREATE TRIGGER oauthgen_fault_%s %s BEGIN SELECT RAISE(ABORT, 'injected fault'); END", table, when)}
		},
		drop: func(table string) []string { return []string{"DROP TRIGGER oauthgen_fault_" + table} },
	}
	postgresFaults = faultSQL{
		create: func(table string, consume bool) []string {
			when := "BEFORE INSERT ON " + table + " FOR EACH ROW"
			if consume {
				when = "BEFORE UPDATE OF consumed_at ON " + table + " FOR EACH ROW WHEN (NEW.consumed_at IS DISTINCT FROM OLD.consumed_at)"
			}
			return []string{
				"CREATE OR REPLACE FUNCTION oauthgen_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$",
				fmt.Sprintf("CREATE TRIGGER oauthgen_fault %s EXECUTE FUNCTION oauthgen_fault()", when),
			}
		},
		drop: func(table string) []string { return []string{"DROP TRIGGER oauthgen_fault ON " + table} },
	}
	mysqlFaults = faultSQL{
		create: func(table string, consume bool) []string {
			signal := "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected fault'"
			if consume {
				return []string{fmt.Sprintf("CREATE TRIGGER oauthgen_fault_%s BEFORE UPDATE ON %s FOR EACH ROW IF NOT (NEW.consumed_at <=> OLD.consumed_at) THEN %s; END IF", table, table, signal)}
			}
			return []string{fmt.Sprintf("CREATE TRIGGER oauthgen_fault_%s BEFORE INSERT ON %s FOR EACH ROW %s", table, table, signal)}
		},
		drop: func(table string) []string { return []string{"DROP TRIGGER oauthgen_fault_" + table} },
	}
)

// failer returns a Harness.Fail that makes a Store's writes fail in the
// database, inside its transactions, as a real failure would. A fault not
// healed by the test is healed at its cleanup, so that a harness sharing
// one schema between subtests never leaks a trigger.
func failer(exec execFunc, sql faultSQL, tables tableNames) runtimetest.FailFunc {
	return func(t *testing.T, f runtimetest.Fault) func() {
		t.Helper()
		table, ok := tables[f.Record]
		if !ok {
			t.Fatalf("no table for record %q", f.Record)
		}
		ctx := context.Background()
		for _, stmt := range sql.create(table, f.Consume) {
			if err := exec(ctx, stmt); err != nil {
				t.Fatalf("injecting %+v: %s: %v", f, stmt, err)
			}
		}
		var once sync.Once
		heal := func() {
			once.Do(func() {
				for _, stmt := range sql.drop(table) {
					if err := exec(ctx, stmt); err != nil {
						t.Errorf("healing %+v: %s: %v", f, stmt, err)
					}
				}
			})
		}
		t.Cleanup(heal)
		return heal
	}
}
