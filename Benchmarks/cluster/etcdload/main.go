// Command etcdload drives etcd through its own Go client (clientv3 over gRPC), the way
// etcd's tools/benchmark does: a number of clients share a few gRPC connections, each
// sending its next request as soon as the previous one is answered. It exists so that
// kv-node's HTTP API is compared with what etcd's real users run, not only with etcd's
// JSON gateway, which adds a gRPC hop of its own (Docs/BENCHMARKS.md).
//
// Keys and values are the wrk scripts' (lua/common.lua): "k" + 15 digits over -keys
// distinct keys, 100-byte values. It prints one JSON object: requests, errors, seconds,
// rps, latency percentiles in microseconds, and the CPU seconds this process used (on two
// cores the load generator competes with the servers).
//
// Built offline from Debian's packages (golang-go, golang-etcd-server-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o etcdload .
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
)

type result struct {
	Op         string  `json:"op"`
	Clients    int     `json:"clients"`
	Conns      int     `json:"conns"`
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	RPS        float64 `json:"rps"`
	P50us      float64 `json:"p50_us"`
	P90us      float64 `json:"p90_us"`
	P99us      float64 `json:"p99_us"`
	MaxUs      float64 `json:"max_us"`
	ClientCPUs float64 `json:"client_cpu_s"`
}

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated etcd client endpoints")
	op := flag.String("op", "put", "put, get (linearizable) or get-serializable")
	clients := flag.Int("clients", 64, "requests in flight at once")
	conns := flag.Int("conns", 4, "gRPC connections the clients share")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	keys := flag.Int("keys", 10000, "distinct keys")
	valueSize := flag.Int("value-size", 100, "bytes per value")
	timeout := flag.Duration("timeout", 5*time.Second, "per request")
	flag.Parse()
	if *clients < 1 || *conns < 1 || *keys < 1 {
		fail(fmt.Errorf("-clients, -conns and -keys must be at least 1"))
	}
	if *op != "put" && *op != "get" && *op != "get-serializable" {
		fail(fmt.Errorf("unknown -op %q: put, get or get-serializable", *op))
	}

	var connections []*clientv3.Client
	for i := 0; i < *conns; i++ {
		c, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(*endpoints, ","), DialTimeout: 5 * time.Second})
		if err != nil {
			fail(err)
		}
		defer c.Close()
		connections = append(connections, c)
	}
	value := strings.Repeat("v", *valueSize)

	var mu sync.Mutex
	var latencies []time.Duration
	errors := 0
	var wg sync.WaitGroup
	cpuBefore := cpuSeconds()
	start := time.Now()
	deadline := start.Add(*duration)
	for i := 0; i < *clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := connections[i%len(connections)]
			random := rand.New(rand.NewSource(int64(i) + 1))
			own := make([]time.Duration, 0, 1<<15)
			failed := 0
			for time.Now().Before(deadline) {
				key := fmt.Sprintf("k%015d", random.Intn(*keys))
				ctx, cancel := context.WithTimeout(context.Background(), *timeout)
				began := time.Now()
				var err error
				switch *op {
				case "put":
					_, err = c.Put(ctx, key, value)
				case "get":
					_, err = c.Get(ctx, key)
				default:
					_, err = c.Get(ctx, key, clientv3.WithSerializable())
				}
				took := time.Since(began)
				cancel()
				if err != nil {
					failed++
					continue
				}
				own = append(own, took)
			}
			mu.Lock()
			latencies = append(latencies, own...)
			errors += failed
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	out := result{Op: *op, Clients: *clients, Conns: *conns, Requests: len(latencies), Errors: errors,
		Seconds: elapsed, RPS: float64(len(latencies)) / elapsed,
		P50us: percentile(latencies, 0.50), P90us: percentile(latencies, 0.90), P99us: percentile(latencies, 0.99),
		MaxUs: percentile(latencies, 1), ClientCPUs: cpuSeconds() - cpuBefore}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds())
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "etcdload:", err)
	os.Exit(1)
}
