package runtimetest

import (
	"strconv"
	"testing"

	"github.com/oauthgen/oauthgen/runtime"
)

func userTests() []subtest {
	return []subtest{
		{"by_username", testUserByUsername},
		{"by_id", testUserByID},
		{"unknown_username", testUserUnknownUsername},
		{"unknown_id", testUserUnknownID},
	}
}

// seedUsers stores users with distinct password hash forms and returns them
// with the ids the store gave.
func seedUsers(e *env) []runtime.User {
	e.t.Helper()
	need[runtime.UserStore](e)
	users := []runtime.User{
		{Username: "alice", PasswordHash: argon2Hash},
		{Username: "alice.smith", PasswordHash: bcryptHash},
		{Username: "zoë@example.com", PasswordHash: runtime.HashToken("not a password hash, still opaque")},
	}
	for i := range users {
		users[i].ID = e.addUser(users[i].Username, users[i].PasswordHash)
	}
	return users
}

func testUserByUsername(t *testing.T, e *env) {
	us := need[runtime.UserStore](e)
	for _, want := range seedUsers(e) {
		got, err := us.GetUserByUsername(e.ctx, want.Username)
		must(t, "GetUserByUsername("+quote(want.Username)+")", err)
		diff(t, "GetUserByUsername("+quote(want.Username)+")", &want, got)
	}
}

func testUserByID(t *testing.T, e *env) {
	us := need[runtime.UserStore](e)
	for _, want := range seedUsers(e) {
		got, err := us.GetUser(e.ctx, want.ID)
		must(t, "GetUser("+quote(want.ID)+")", err)
		diff(t, "GetUser("+quote(want.ID)+")", &want, got)
	}
}

func testUserUnknownUsername(t *testing.T, e *env) {
	us := need[runtime.UserStore](e)
	seedUsers(e)
	// Prefixes and extensions of stored names: lookups are exact.
	for _, name := range []string{"bob", "", "ali", "alice.smith.jr", "alice%", "zoë"} {
		_, err := us.GetUserByUsername(e.ctx, name)
		wantErr(t, "GetUserByUsername("+quote(name)+")", err, runtime.ErrNotFound)
	}
}

func testUserUnknownID(t *testing.T, e *env) {
	us := need[runtime.UserStore](e)
	users := seedUsers(e)
	// Ids are opaque strings: one that is not in the store's own id format
	// is not found, never a parse error.
	unknown := []string{"no-such-user", "", "999999", runtime.NewID(), users[0].Username}
	for _, id := range unknown {
		if id == users[0].ID || id == users[1].ID || id == users[2].ID {
			continue
		}
		_, err := us.GetUser(e.ctx, id)
		wantErr(t, "GetUser("+quote(id)+")", err, runtime.ErrNotFound)
	}
}

func quote(s string) string { return strconv.Quote(s) }
