package allocation

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// TestDecodeInstanceAgreesWithEncodingJSON: the streaming decoder reads
// what encoding/json writes exactly as encoding/json reads it, including
// escaped strings, nulls and an odd member order.
func TestDecodeInstanceAgreesWithEncodingJSON(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 0xdec))
		inst := randomInstance(rng, genConfig{children: rng.IntN(20), programmes: 1 + rng.IntN(6), locations: 1 + rng.IntN(3),
			maxPrefs: 4, maxCap: 3, reserve: true, siblings: true})
		if len(inst.Children) > 0 {
			inst.Children[0].ID = "kind \"ü\" <&> \\ é"
		}
		b, err := json.Marshal(inst)
		if err != nil {
			t.Fatal(err)
		}
		var want Instance
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		got, err := DecodeInstance(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		// The decoder records each preference's programme; the engine
		// and the audit use it instead of looking the ID up.
		for i, ch := range got.Children {
			for k, pid := range ch.Preferences {
				if p, ok := got.prefProgramme(i, k); !ok || got.Programmes[p].ID != pid {
					t.Fatalf("seed %d: preference %d of %s: recorded programme %d, %v", seed, k, ch.ID, p, ok)
				}
			}
		}
		if len(got.Children) > 0 && len(got.Children[0].Preferences) > 0 {
			// A changed preference is no longer the decoder's string.
			saved := got.Children[0].Preferences[0]
			got.Children[0].Preferences[0] = strings.Clone(saved)
			if _, ok := got.prefProgramme(0, 0); ok {
				t.Fatalf("seed %d: a replaced preference still uses the recorded index", seed)
			}
			got.Children[0].Preferences[0] = saved
		}
		got.decoded = nil
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("seed %d: decoded\n%+v\nwant\n%+v", seed, got, &want)
		}
	}
	// Children before programmes, nulls, escapes and case-insensitive names.
	in := `{"children": [{"ID": "k\u00e9", "preferences": ["p\u0031"], "criteria": null, "vulnerable": true},
		{"id": "k2", "preferences": [], "siblings": ["k\u00e9"], "location_criteria": {"l": ["work"]}}],
		"Version": 1, "seed": 7, "programmes": [{"id": "p1", "location": "l", "start_month": "2026-01", "capacity": 1}]}`
	got, err := DecodeInstance(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if got.decoded != nil {
		t.Error("children before programmes: no recorded indexes expected")
	}
	var want Instance
	if err := json.Unmarshal([]byte(in), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, &want)
	}
}

func TestDecodeInstanceFieldErrors(t *testing.T) {
	cases := map[string]string{
		`{"version":1,"seed":"s","children":[{"id":"a"},{"id":"b","preferences":["x",3]}]}`: "children[1].preferences[1]: must be a string",
		`{"version":1,"seed":"s","children":[{"id":"a","vulnerable":"yes"}]}`:               "children[0].vulnerable: must be true or false",
		`{"version":1,"seed":"s","children":[{"id":"a","colour":1}]}`:                       `children[0]: json: unknown field "colour"`,
		`{"version":1,"seed":"s","children":[]} x`:                                          "trailing data",
		`{"version":1,"seed":"s","colour":"red"}`:                                           `unknown field "colour"`,
		`{"version":1,"seed":"s","programmes":[{"id":"p","x":1}]}`:                          `programmes: json: unknown field "x"`,
	}
	for in, want := range cases {
		if _, err := DecodeInstance(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}
