package storetest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/oauthgen/oauthgen/runtime"
)

// TestPurgeSigningKeys: PurgeExpired deletes a signing key once its
// successor has been active for retire_after (it has left the JWKS and
// its tokens have expired), and keeps the key that signs, the next one,
// and a retired key still within retire_after.
func TestPurgeSigningKeys(t *testing.T) {
	for name, open := range openIDStores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			ctx := context.Background()
			keys := st.store.(runtime.SigningKeyStore)
			purger := st.store.(interface {
				PurgeExpired(context.Context, time.Time) (int64, error)
			})
			retire := st.config.SigningKeys.RetireAfter
			now := time.Now().UTC().Truncate(time.Second)
			// Generations 1–3 retired long ago or just now, 4 signs, 5 is
			// published ahead of its turn.
			active := []time.Time{
				now.Add(-3 * retire), now.Add(-2 * retire), now.Add(-retire / 2), now.Add(-time.Minute), now.Add(time.Hour),
			}
			for i, a := range active {
				must(t, keys.AddSigningKey(ctx, &runtime.SigningKey{ID: fmt.Sprintf("k%d", i+1), Generation: int64(i + 1), Algorithm: "ES256",
					PublicJWK: []byte(`{}`), SealedPrivateKey: []byte{1}, CreatedAt: a.Add(-time.Hour), ActiveFrom: a}))
			}
			// k1's successor became active 2×retire ago: gone. k2's became
			// active retire/2 ago: k2 is still in the JWKS, kept.
			if _, err := purger.PurgeExpired(ctx, now); err != nil {
				t.Fatal(err)
			}
			left, err := keys.SigningKeys(ctx)
			must(t, err)
			var ids []string
			for _, k := range left {
				ids = append(ids, k.ID)
			}
			slices.Sort(ids)
			if want := []string{"k2", "k3", "k4", "k5"}; !slices.Equal(ids, want) {
				t.Errorf("after PurgeExpired: %v, want %v", ids, want)
			}
			// retire_after later, k3 and k4 have been active for longer
			// than that: k2 and k3 go; the key that signs and the next stay.
			if _, err := purger.PurgeExpired(ctx, now.Add(retire)); err != nil {
				t.Fatal(err)
			}
			left, err = keys.SigningKeys(ctx)
			must(t, err)
			ids = ids[:0]
			for _, k := range left {
				ids = append(ids, k.ID)
			}
			slices.Sort(ids)
			if want := []string{"k4", "k5"}; !slices.Equal(ids, want) {
				t.Errorf("after PurgeExpired a retire_after later: %v, want %v", ids, want)
			}
		})
	}
}
