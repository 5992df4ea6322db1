// Package chart_test renders the Helm chart and checks what a cluster would
// run: non-root, read-only root filesystem, probes on /readyz and /healthz,
// the migration job, autoscaling and the disruption budget.
package chart_test

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/loket-kinderopvang/loket/internal/platform/testenv"
)

type object struct {
	Kind     string         `yaml:"kind"`
	Metadata map[string]any `yaml:"metadata"`
	Spec     map[string]any `yaml:"spec"`
	Data     map[string]any `yaml:"data"`
}

func configData(t *testing.T, o object) map[string]any {
	t.Helper()
	if o.Data == nil {
		t.Fatalf("ConfigMap %v has no data", o.Metadata["name"])
	}
	return o.Data
}

func render(t *testing.T, args ...string) map[string][]object {
	t.Helper()
	helm := testenv.Helm(t)
	out, err := exec.Command(helm, append([]string{"template", "loket", "."}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", args, err, out)
	}
	if lint, err := exec.Command(helm, append([]string{"lint", "--strict", "."}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("helm lint %v: %v\n%s", args, err, lint)
	}
	objs := map[string][]object{}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if o.Kind != "" {
			objs[o.Kind] = append(objs[o.Kind], o)
		}
	}
	return objs
}

// dig walks nested maps and lists ("containers.0.readinessProbe.httpGet.path").
func dig(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i := 0
			for _, c := range part {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func TestChartRenders(t *testing.T) {
	for name, args := range map[string][]string{
		"defaults":   nil,
		"production": {"-f", "values-production.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			objs := render(t, args...)
			for _, kind := range []string{"Deployment", "Service", "ConfigMap", "Job", "HorizontalPodAutoscaler", "PodDisruptionBudget"} {
				if len(objs[kind]) == 0 {
					t.Errorf("no %s rendered", kind)
				}
			}
			if len(objs["Deployment"]) != 1 {
				t.Fatalf("%d deployments", len(objs["Deployment"]))
			}
			pod := dig(objs["Deployment"][0].Spec, "template.spec")
			checks := map[string]any{
				"securityContext.runAsNonRoot":                          true,
				"containers.0.securityContext.readOnlyRootFilesystem":   true,
				"containers.0.securityContext.allowPrivilegeEscalation": false,
				"containers.0.readinessProbe.httpGet.path":              "/readyz",
				"containers.0.livenessProbe.httpGet.path":               "/healthz",
			}
			for path, want := range checks {
				if got := dig(pod, path); got != want {
					t.Errorf("deployment %s = %v, want %v", path, got, want)
				}
			}
			if uid, _ := dig(pod, "securityContext.runAsUser").(int); uid == 0 {
				t.Errorf("runs as uid %v", dig(pod, "securityContext.runAsUser"))
			}
			if dig(pod, "containers.0.resources.limits.memory") == nil || dig(pod, "containers.0.resources.requests.cpu") == nil {
				t.Error("no resource requests and limits")
			}
			job := objs["Job"][0]
			if hook, _ := dig(job.Metadata, "annotations").(map[string]any)["helm.sh/hook"].(string); !strings.Contains(hook, "pre-upgrade") {
				t.Errorf("migration job hook = %q", hook)
			}
			if args := dig(job.Spec, "template.spec.initContainers.0.args"); args == nil || dig(args, "0") != "migrate" || dig(args, "1") != "up" {
				t.Errorf("migration job runs %v", args)
			}
		})
	}
	prod := render(t, "-f", "values-production.yaml")
	if n := len(dig(prod["Ingress"][0].Spec, "rules").([]any)); n != 2 {
		t.Errorf("production ingress has %d host rules, want 2", n)
	}
}

// TestChartMetricsStayInside: /metrics is served on its own port (9090),
// which neither the Service's http port nor the Ingress reaches; the demo
// (published passwords) is off.
func TestChartMetricsStayInside(t *testing.T) {
	objs := render(t)
	cm := map[string]any{}
	for _, o := range objs["ConfigMap"] {
		if name, _ := o.Metadata["name"].(string); strings.HasSuffix(name, "-config") {
			cm = configData(t, o)
		}
	}
	if cm["LOKET_METRICS_ADDR"] != ":9090" || cm["LOKET_HTTP_ADDR"] != ":8080" || cm["LOKET_DEMO"] != "false" {
		t.Errorf("config: metrics %v, http %v, demo %v", cm["LOKET_METRICS_ADDR"], cm["LOKET_HTTP_ADDR"], cm["LOKET_DEMO"])
	}
	pod := dig(objs["Deployment"][0].Spec, "template.spec")
	if dig(pod, "containers.0.ports.1.name") != "metrics" || dig(pod, "containers.0.ports.1.containerPort") != 9090 {
		t.Errorf("container ports: %v", dig(pod, "containers.0.ports"))
	}
	if ports := dig(objs["Service"][0].Spec, "ports").([]any); len(ports) != 1 || dig(ports, "0.targetPort") != "http" {
		t.Errorf("the Service exposes %v; only http by default", ports)
	}
	if len(objs["ServiceMonitor"]) != 0 {
		t.Error("a ServiceMonitor by default")
	}
	mon := render(t, "--set", "metrics.serviceMonitor.enabled=true")
	if len(mon["ServiceMonitor"]) != 1 || dig(mon["ServiceMonitor"][0].Spec, "endpoints.0.port") != "metrics" {
		t.Errorf("ServiceMonitor: %v", mon["ServiceMonitor"])
	}
	if dig(mon["Service"][0].Spec, "ports.1.name") != "metrics" {
		t.Errorf("with a ServiceMonitor the Service needs its metrics port: %v", dig(mon["Service"][0].Spec, "ports"))
	}
}
