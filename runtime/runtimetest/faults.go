package runtimetest

import "testing"

// Record names a kind of record an Issue writes.
type Record string

// The records of an Issuance.
const (
	RecordFamily            Record = "family"
	RecordAuthorizationCode Record = "authorization_code"
	RecordDeviceCode        Record = "device_code"
	RecordAccessToken       Record = "access_token"
	RecordRefreshToken      Record = "refresh_token"
)

// Fault is a write that fails: the creation of a Record (an INSERT in SQL
// stores), or, with Consume, the consumption of one (an UPDATE).
type Fault struct {
	Record  Record
	Consume bool
}

// FailFunc makes every write f describes fail, until heal is called. SQL
// stores inject the failure in the database itself (a trigger that
// raises), so it happens inside the transaction, as a real one would.
type FailFunc func(t *testing.T, f Fault) (heal func())
