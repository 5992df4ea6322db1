package allocation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// Output is what SolveJSON writes: the result, an explanation per child
// and the audit report.
type Output struct {
	Result
	// InputSHA256 identifies the exact instance file that was solved.
	InputSHA256  string        `json:"input_sha256"`
	Explanations []Explanation `json:"explanations"`
	Audit        Report        `json:"audit"`
}

// DecodeInstance reads a JSON instance. Unknown fields are rejected so
// that a misspelt option does not silently fall back to a default.
func DecodeInstance(r io.Reader) (*Instance, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var inst Instance
	if err := dec.Decode(&inst); err != nil {
		return nil, fmt.Errorf("allocation: decode instance: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("allocation: decode instance: trailing data after the instance")
	}
	if inst.Version != FormatVersion {
		return nil, &ValidationError{Errors: []FieldError{{Field: "version", Message: fmt.Sprintf("must be %d, got %d", FormatVersion, inst.Version)}}}
	}
	return &inst, nil
}

// SolveJSON reads an instance, solves and audits it, and writes the
// Output as indented JSON. An invalid instance is an error; a failed
// audit is not (it is reported in the output, with audit.ok false).
func SolveJSON(r io.Reader, w io.Writer) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("allocation: read instance: %w", err)
	}
	inst, err := DecodeInstance(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	res, err := Solve(inst)
	if err != nil {
		return fmt.Errorf("allocation: solve: %w", err)
	}
	expl, err := Explain(inst, res)
	if err != nil {
		return fmt.Errorf("allocation: %w", err)
	}
	sum := sha256.Sum256(raw)
	out := Output{
		Result:       *res,
		InputSHA256:  hex.EncodeToString(sum[:]),
		Explanations: expl,
		Audit:        Audit(inst, res),
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&out); err != nil {
		return fmt.Errorf("allocation: write result: %w", err)
	}
	return nil
}
