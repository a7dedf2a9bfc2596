// Command loadgen sends HTTP requests from N concurrent clients and prints their latencies.
//
// It stands in for kube-apiserver, the webhook's real client: a Go HTTP client with
// keep-alive connections. A Python client on the same two cores spent more time per request
// than the webhook it measured, so its latencies were mostly its own.
//
// Bodies are read from a JSON-lines file (one request body per line, sent in order and
// cycled; the warm-up sends the first ones, the measurement those after them); without
// -bodies it sends GET requests. With -cert/-key and -status 201 -review=false it creates
// objects through kube-apiserver instead (e.g. with ?dryRun=All). Every response must be 200 and, for
// AdmissionReviews, allowed. Output: one JSON object with the latencies in milliseconds.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type reviewResponse struct {
	Response struct {
		Allowed bool `json:"allowed"`
		Status  struct {
			Message string `json:"message"`
		} `json:"status"`
	} `json:"response"`
}

func main() {
	url := flag.String("url", "", "endpoint to call")
	bodies := flag.String("bodies", "", "JSON-lines file of request bodies (POST); empty: GET")
	requests := flag.Int("n", 2000, "number of requests")
	concurrency := flag.Int("c", 20, "concurrent clients")
	warmup := flag.Int("warmup", 200, "requests sent first and not measured (connections, caches)")
	certFile := flag.String("cert", "", "client certificate (PEM), e.g. to call kube-apiserver")
	keyFile := flag.String("key", "", "client key (PEM)")
	status := flag.Int("status", http.StatusOK, "the HTTP status every response must have")
	review := flag.Bool("review", true, "with -bodies: responses are AdmissionReviews that must allow")
	warning := flag.String("warning", "", "every response must carry a Warning header containing this")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadgen: -url is required")
		os.Exit(2)
	}
	var payloads [][]byte
	if *bodies != "" {
		var err error
		if payloads, err = readLines(*bodies); err != nil || len(payloads) == 0 {
			fmt.Fprintf(os.Stderr, "loadgen: cannot read bodies from %s: %v\n", *bodies, err)
			os.Exit(2)
		}
	}
	tlsConfig := &tls.Config{InsecureSkipVerify: true} // loopback, a throwaway CA
	if *certFile != "" {
		pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "loadgen: client certificate: %v\n", err)
			os.Exit(2)
		}
		tlsConfig.Certificates = []tls.Certificate{pair}
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     tlsConfig,
		MaxIdleConnsPerHost: *concurrency,
		MaxConnsPerHost:     *concurrency,
	}}
	check := expectation{status: *status, review: *review && payloads != nil, warning: *warning}
	if _, err := run(client, *url, payloads, check, *warmup, *concurrency); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: warm-up failed: %v\n", err)
		os.Exit(1)
	}
	// The measured requests start after the warm-up's bodies: with distinct bodies, none of
	// them has been seen before (no cache of the server's is warm for them).
	latencies, elapsed, failures, firstError := measure(client, *url, rotate(payloads, *warmup), check, *requests, *concurrency)
	out := map[string]any{
		"requests": *requests, "concurrency": *concurrency, "failures": failures,
		"p50_ms": percentile(latencies, 50), "p90_ms": percentile(latencies, 90),
		"p99_ms": percentile(latencies, 99), "max_ms": latencies[len(latencies)-1],
		"mean_ms": mean(latencies), "requests_per_second": float64(*requests) / elapsed,
	}
	if firstError != "" {
		out["first_error"] = firstError
	}
	json.NewEncoder(os.Stdout).Encode(out)
	if failures > 0 {
		os.Exit(1)
	}
}

// run sends n requests from c clients and fails on the first error.
func run(client *http.Client, url string, payloads [][]byte, check expectation, n, c int) (float64, error) {
	_, elapsed, failures, firstError := measure(client, url, payloads, check, n, c)
	if failures > 0 {
		return elapsed, fmt.Errorf("%d failures, first: %s", failures, firstError)
	}
	return elapsed, nil
}

// measure sends n requests from c clients: sorted latencies (ms), seconds, failures, first error.
func measure(client *http.Client, url string, payloads [][]byte, check expectation, n, c int) ([]float64, float64, int64, string) {
	if n == 0 {
		return []float64{0}, 0, 0, ""
	}
	latencies := make([]float64, n)
	var next atomic.Int64
	var failures atomic.Int64
	var firstError atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				began := time.Now()
				err := call(client, url, payloads, check, i)
				latencies[i] = float64(time.Since(began).Microseconds()) / 1000
				if err != nil {
					failures.Add(1)
					firstError.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	sort.Float64s(latencies)
	first, _ := firstError.Load().(string)
	return latencies, elapsed, failures.Load(), first
}

// expectation is what every response must be.
type expectation struct {
	status  int
	review  bool
	warning string
}

func call(client *http.Client, url string, payloads [][]byte, check expectation, i int) error {
	var resp *http.Response
	var err error
	if payloads == nil {
		resp, err = client.Get(url)
	} else {
		resp, err = client.Post(url, "application/json", bytes.NewReader(payloads[i%len(payloads)]))
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != check.status {
		return fmt.Errorf("HTTP %d (want %d): %.300s", resp.StatusCode, check.status, data)
	}
	if check.warning != "" && !strings.Contains(strings.Join(resp.Header.Values("Warning"), "\n"), check.warning) {
		return fmt.Errorf("no Warning header containing %q", check.warning)
	}
	if !check.review {
		return nil
	}
	var r reviewResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("not an AdmissionReview: %v", err)
	}
	if !r.Response.Allowed {
		return fmt.Errorf("denied: %s", r.Response.Status.Message)
	}
	return nil
}

// rotate returns payloads starting at index n (cycling).
func rotate(payloads [][]byte, n int) [][]byte {
	if len(payloads) == 0 {
		return payloads
	}
	n %= len(payloads)
	return append(append([][]byte(nil), payloads[n:]...), payloads[:n]...)
}

func readLines(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]byte
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		if line := bytes.TrimSpace(scanner.Bytes()); len(line) > 0 {
			out = append(out, append([]byte(nil), line...))
		}
	}
	return out, scanner.Err()
}

func percentile(sorted []float64, p float64) float64 {
	i := int(p/100*float64(len(sorted)-1) + 0.5)
	return sorted[i]
}

func mean(values []float64) float64 {
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	return sum / float64(len(values))
}
