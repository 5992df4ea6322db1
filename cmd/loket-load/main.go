// Command loket-load drives a running Loket over HTTP for the load and fault
// scripts in scripts/load. It only talks to loopback addresses, and every run
// is bounded in time and count.
//
//	loket-load submit  -url http://127.0.0.1:8080 -desk leuven -clients 16 -duration 20s -max 20000 -out acks.jsonl
//	loket-load verify  -db postgres://… -desk leuven -acks acks.jsonl
//	loket-load search  -url … -duration 20s -clients 8 -out search.json
//	loket-load proxy   -listen 127.0.0.1:8090 -backends http://127.0.0.1:8081,http://127.0.0.1:8082
//	loket-load replicas -a http://127.0.0.1:8081 -b http://127.0.0.1:8082 -via http://127.0.0.1:8090
package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loket-load submit|verify|search|proxy [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "submit":
		err = submit(os.Args[2:])
	case "verify":
		err = verify(os.Args[2:])
	case "search":
		err = search(os.Args[2:])
	case "proxy":
		err = proxy(os.Args[2:])
	case "replicas":
		err = replicas(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loket-load:", err)
		os.Exit(1)
	}
}

// loopback refuses anything but a local address: these tools put load on a server.
func loopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address", raw)
}

// Ack is one request the server confirmed with 201.
type Ack struct {
	Key      string `json:"key"`
	ID       string `json:"id"`
	Attempts int    `json:"attempts"`
}

type stats struct {
	mu        sync.Mutex
	latencies []time.Duration
}

func (s *stats) add(d time.Duration) {
	s.mu.Lock()
	s.latencies = append(s.latencies, d)
	s.mu.Unlock()
}

func (s *stats) pct(p float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.latencies) == 0 {
		return 0
	}
	ls := slices.Clone(s.latencies)
	slices.Sort(ls)
	return ls[min(len(ls)-1, int(p*float64(len(ls))))]
}

func locations(base, municipality string) ([]string, error) {
	res, err := http.Get(base + "/api/v1/locations?accepts_requests=true&per_page=50&municipality=" + municipality)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var list struct {
		Locations []struct {
			ID string `json:"id"`
		} `json:"locations"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	var ids []string
	for _, l := range list.Locations {
		ids = append(ids, l.ID)
	}
	if len(ids) == 0 {
		return nil, errors.New("no locations that accept requests (seed the demo catalogue)")
	}
	return ids, nil
}

func body(r *rand.Rand, locs []string) []byte {
	now := time.Now()
	n := 1 + r.IntN(min(3, len(locs)))
	perm := r.Perm(len(locs))[:n]
	var prefs []string
	for _, i := range perm {
		prefs = append(prefs, locs[i])
	}
	b, _ := json.Marshal(map[string]any{
		"child": map[string]string{"first_name": fmt.Sprintf("Kind%05d", r.IntN(100000)), "last_name": "Laadtest",
			"birth_date": now.AddDate(0, -r.IntN(10)-1, 0).Format("2006-01-02")},
		"parents":       []map[string]string{{"first_name": "Ouder", "last_name": "Laadtest", "email": fmt.Sprintf("ouder%d@laadtest.example", r.IntN(1e9))}},
		"language":      "nl",
		"address":       map[string]string{"municipality_nis": "24062"},
		"desired_start": now.AddDate(0, 3+r.IntN(6), 0).Format("2006-01-02"),
		"care_plan":     map[string]any{"days": []string{"mon", "tue", "thu"}, "day_part": "whole"},
		"preferences":   prefs, "reason": "work", "privacy_consent_version": "2026-01",
	})
	return b
}

// submit registers requests with N clients until the duration or the count is
// reached. A request whose answer is lost (connection refused or reset, a
// 5xx) is retried with the SAME Idempotency-Key until it gets its 201: that is
// what a careful client does, and what the kill test relies on.
func submit(args []string) error {
	fs := flag.NewFlagSet("submit", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "Loket's base URL (loopback only)")
	desk := fs.String("desk", "leuven", "desk slug")
	clients := fs.Int("clients", 16, "concurrent clients")
	duration := fs.Duration("duration", 20*time.Second, "how long to send new requests")
	maxCount := fs.Int("max", 50000, "at most this many requests")
	retryFor := fs.Duration("retry-for", 60*time.Second, "how long a lost request is retried")
	out := fs.String("out", "", "write one JSON line per acknowledged request")
	apiKey := fs.String("api-key", os.Getenv("LOKET_LOAD_API_KEY"), "API key sent with every request (anonymous registrations are limited per address)")
	_ = fs.Parse(args)
	if err := loopback(*base); err != nil {
		return err
	}
	locs, err := locations(*base, "24062")
	if err != nil {
		return err
	}
	var w *bufio.Writer
	var wmu sync.Mutex
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = bufio.NewWriter(f)
		defer w.Flush()
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: *clients}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	deadline := time.Now().Add(*duration)
	var sent, acked, failed, retries atomic.Int64
	st := &stats{}
	start := time.Now()
	var wg sync.WaitGroup
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if sent.Add(1) > int64(*maxCount) {
					return
				}
				key := uuid.NewString()
				payload := body(r, locs)
				giveUp := time.Now().Add(*retryFor)
				for attempt := 1; ; attempt++ {
					t0 := time.Now()
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, *base+"/api/v1/tenants/"+*desk+"/requests", bytes.NewReader(payload))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", key)
					if *apiKey != "" {
						req.Header.Set("Authorization", "Bearer "+*apiKey)
					}
					res, err := client.Do(req)
					if err == nil && res.StatusCode == http.StatusCreated {
						var got struct {
							ID string `json:"id"`
						}
						_ = json.NewDecoder(res.Body).Decode(&got)
						res.Body.Close()
						if attempt == 1 {
							st.add(time.Since(t0))
						}
						acked.Add(1)
						if w != nil {
							line, _ := json.Marshal(Ack{Key: key, ID: got.ID, Attempts: attempt})
							wmu.Lock()
							w.Write(append(line, '\n'))
							wmu.Unlock()
						}
						break
					}
					if err == nil {
						b, _ := io.ReadAll(res.Body)
						res.Body.Close()
						if res.StatusCode < 500 {
							failed.Add(1)
							fmt.Fprintf(os.Stderr, "refused %d: %s\n", res.StatusCode, b)
							break
						}
					}
					if time.Now().After(giveUp) || ctx.Err() != nil {
						failed.Add(1)
						break
					}
					retries.Add(1)
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	report := map[string]any{"acknowledged": acked.Load(), "failed": failed.Load(), "retries": retries.Load(),
		"seconds": elapsed.Seconds(), "req_per_s": float64(acked.Load()) / elapsed.Seconds(),
		"p50_ms": st.pct(0.50).Seconds() * 1000, "p99_ms": st.pct(0.99).Seconds() * 1000, "clients": *clients}
	b, _ := json.Marshal(report)
	fmt.Println(string(b))
	if failed.Load() > 0 {
		return fmt.Errorf("%d requests were never acknowledged", failed.Load())
	}
	return nil
}

// verify checks the acknowledged requests against the database: each key is
// there exactly once, with the id the client was given, and no key appears
// twice. It connects as a role that sees every desk (the schema owner).
func verify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	dsn := fs.String("db", "", "PostgreSQL URL (owner or superuser)")
	acksFile := fs.String("acks", "acks.jsonl", "the submit run's acknowledgements")
	_ = fs.Parse(args)
	f, err := os.Open(*acksFile)
	if err != nil {
		return err
	}
	defer f.Close()
	acks := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a Ack
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return err
		}
		acks[a.Key] = a.ID
	}
	db, err := sql.Open("pgx", *dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT idempotency_key, id::text, count(*) OVER (PARTITION BY tenant_id, idempotency_key)
		FROM requests WHERE idempotency_key IS NOT NULL`)
	if err != nil {
		return err
	}
	defer rows.Close()
	found := map[string]string{}
	dupes := 0
	for rows.Next() {
		var key, id string
		var n int
		if err := rows.Scan(&key, &id, &n); err != nil {
			return err
		}
		if n > 1 {
			dupes++
		}
		// Stored bound to its caller ("<caller>|<key>", requests.idempotency).
		found[key[strings.LastIndexByte(key, '|')+1:]] = id
	}
	lost, wrong := 0, 0
	for key, id := range acks {
		got, ok := found[key]
		switch {
		case !ok:
			lost++
		case got != id:
			wrong++
		}
	}
	b, _ := json.Marshal(map[string]int{"acknowledged": len(acks), "in_database": len(found), "lost": lost, "duplicated": dupes, "wrong_id": wrong})
	fmt.Println(string(b))
	if lost+dupes+wrong > 0 || len(acks) == 0 {
		return fmt.Errorf("%d lost, %d duplicated, %d with another id (of %d acknowledged)", lost, dupes, wrong, len(acks))
	}
	return nil
}

// search reads free places and locations with N clients for a while and
// counts answers that are not 200.
func search(args []string) error {
	fs := flag.NewFlagSet("search", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "Loket's base URL (loopback only)")
	clients := fs.Int("clients", 8, "concurrent clients")
	duration := fs.Duration("duration", 10*time.Second, "how long")
	_ = fs.Parse(args)
	if err := loopback(*base); err != nil {
		return err
	}
	month := time.Now().AddDate(0, 2, 0).Format("2006-01")
	paths := []string{"/api/v1/availability?region=24000&month=" + month + "&age_band=baby",
		"/api/v1/availability?region=13000&month=" + month + "&age_band=toddler",
		"/api/v1/locations?municipality=24062&free_places=true&start_month=" + month}
	client := &http.Client{Timeout: 5 * time.Second}
	var ok, bad atomic.Int64
	st := &stats{}
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for c := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				res, err := client.Get(*base + paths[i%len(paths)])
				if err != nil {
					bad.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					ok.Add(1)
					st.add(time.Since(t0))
				} else {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b, _ := json.Marshal(map[string]any{"ok": ok.Load(), "failed": bad.Load(), "req_per_s": float64(ok.Load()) / duration.Seconds(),
		"p50_ms": st.pct(0.5).Seconds() * 1000, "p99_ms": st.pct(0.99).Seconds() * 1000})
	fmt.Println(string(b))
	if bad.Load() > 0 || ok.Load() == 0 {
		return fmt.Errorf("%d of %d search requests failed", bad.Load(), ok.Load()+bad.Load())
	}
	return nil
}

// proxy is a round-robin reverse proxy: two replicas behind one address.
func proxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:8090", "address to listen on")
	backends := fs.String("backends", "", "comma-separated replica URLs")
	_ = fs.Parse(args)
	var rps []*httputil.ReverseProxy
	for _, b := range strings.Split(*backends, ",") {
		if err := loopback(b); err != nil {
			return err
		}
		u, _ := url.Parse(b)
		rps = append(rps, httputil.NewSingleHostReverseProxy(u))
	}
	if len(rps) < 2 {
		return errors.New("give at least two backends")
	}
	var next atomic.Uint64
	return http.ListenAndServe(*listen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := next.Add(1) % uint64(len(rps))
		w.Header().Set("X-Loket-Replica", fmt.Sprint(i+1))
		rps[i].ServeHTTP(w, r)
	}))
}
