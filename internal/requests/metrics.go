package requests

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loket-kinderopvang/loket/internal/platform/tenancy"
)

// statusCollector exports how many requests each desk has per status. It
// counts at scrape time, one small grouped query per desk through the
// tenant-scoped store (so row-level security holds), at most once per
// interval; labels are the desk slug and the status, never personal data.
type statusCollector struct {
	svc      *Service
	desc     *prometheus.Desc
	interval time.Duration

	mu      sync.Mutex
	at      time.Time
	samples []statusSample
}

type statusSample struct {
	desk   string
	status Status
	n      int
}

// StatusCollector returns the Prometheus collector of requests per desk and status.
func (s *Service) StatusCollector() prometheus.Collector {
	return &statusCollector{svc: s, interval: 30 * time.Second,
		desc: prometheus.NewDesc("loket_requests", "Requests per desk and status.", []string{"desk", "status"}, nil)}
}

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > c.interval {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		samples, err := c.svc.countByStatus(ctx)
		cancel()
		if err != nil {
			c.svc.opts.Log.Warn("request metrics", "err", err)
		} else {
			c.samples, c.at = samples, time.Now()
		}
	}
	for _, s := range c.samples {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(s.n), s.desk, string(s.status))
	}
}

func (s *Service) countByStatus(ctx context.Context) ([]statusSample, error) {
	var out []statusSample
	for _, desk := range s.opts.Desks.All() {
		var rows []struct {
			Status Status `bun:"status"`
			N      int    `bun:"n"`
		}
		err := s.tenants.Tx(tenancy.WithTenant(ctx, desk.ID), func(ctx context.Context, tx *tenancy.Tx) error {
			return tx.Select((*Request)(nil)).ColumnExpr("status, count(*) AS n").Group("status").Scan(ctx, &rows)
		})
		if err != nil {
			return nil, err
		}
		counts := map[Status]int{}
		for _, r := range rows {
			counts[r.Status] = r.N
		}
		for _, st := range Statuses {
			out = append(out, statusSample{desk: desk.Slug, status: st, n: counts[st]})
		}
	}
	return out, nil
}

// batchMetrics show how registrations share transactions (see batch.go):
// the size of each batch and how long its transaction took.
type batchMetrics struct {
	size    prometheus.Histogram
	seconds prometheus.Histogram
}

func newBatchMetrics() batchMetrics {
	return batchMetrics{
		size: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "loket_registration_batch_size",
			Help: "Registrations written per transaction.", Buckets: []float64{1, 2, 4, 8, 16, 32, 64}}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "loket_registration_batch_seconds",
			Help: "Time to write one batch of registrations.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 12)}),
	}
}

// BatchCollectors returns the collectors of the registration batches.
func (s *Service) BatchCollectors() []prometheus.Collector {
	return []prometheus.Collector{s.batches.size, s.batches.seconds}
}
