package delivery

import (
	"testing"
	"time"

	"github.com/vend-shop/vend"
	"github.com/vend-shop/vend/store"
)

type fakeGen struct{ n uint64 }

func (g *fakeGen) Generation() uint64 { return g.n }

func TestAdmissionCache(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	adm := &store.Admission{Grant: &vend.Grant{ID: 1}, SessionID: 7}
	k := admissionKey{publicID: "P", fileID: 2, clientIP: "192.0.2.1"}
	tests := []struct {
		name   string
		change func(g *fakeGen) // after the put
		at     time.Duration
		key    admissionKey
		hit    bool
	}{
		{name: "same generation, fresh: hit", at: 10 * time.Millisecond, key: k, hit: true},
		{name: "any write since: miss", change: func(g *fakeGen) { g.n++ }, key: k},
		{name: "older than the TTL: miss (writes by other processes)", at: cacheTTL, key: k},
		{name: "clock went back: miss", at: -time.Millisecond, key: k},
		{name: "another client: miss", key: admissionKey{publicID: "P", fileID: 2, clientIP: "192.0.2.9"}},
		{name: "another file: miss", key: admissionKey{publicID: "P", fileID: 3, clientIP: "192.0.2.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &fakeGen{n: 5}
			c := &admissionCache{gen: g, m: map[admissionKey]cacheEntry{}}
			c.put(k, adm, c.generation(), t0)
			if tt.change != nil {
				tt.change(g)
			}
			got, ok := c.get(tt.key, t0.Add(tt.at))
			if ok != tt.hit || ok && got != adm {
				t.Errorf("get = %v, %v; want hit %v", got, ok, tt.hit)
			}
		})
	}
	t.Run("a store without generations gets no cache", func(t *testing.T) {
		var c *admissionCache // what newAdmissionCache returns for such a store
		c.put(k, adm, c.generation(), t0)
		if _, ok := c.get(k, t0); ok {
			t.Error("nil cache hit")
		}
	})
}
