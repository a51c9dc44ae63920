// Package runtimetest holds what tests of the runtime and of stores share:
//
//   - MemoryStore, an in-memory reference implementation of every store
//     interface in package runtime, for the engine's unit tests;
//   - TestStore, the conformance suite every store must pass: MemoryStore,
//     and each generated SQLite, PostgreSQL and MySQL store. It is the
//     specification of store behaviour where the interfaces' doc comments
//     leave room.
//
// A store's test runs the suite with a fresh, empty store per subtest:
//
//	func TestStore(t *testing.T) {
//		runtimetest.TestStore(t, func(t *testing.T) runtimetest.Harness {
//			db := openTestDB(t) // a new database or schema, migrated, closed by t.Cleanup
//			s := store.New(db)
//			return runtimetest.Harness{
//				Store:     s,
//				AddClient: s.CreateClient,
//				AddUser: func(ctx context.Context, username, hash string) (string, error) {
//					u := &runtime.User{ID: runtime.NewID(), Username: username, PasswordHash: hash}
//					return u.ID, s.CreateUser(ctx, u)
//				},
//			}
//		})
//	}
package runtimetest
