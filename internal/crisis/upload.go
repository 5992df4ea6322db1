package crisis

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/loket-kinderopvang/loket/internal/platform/validate"
	"github.com/loket-kinderopvang/loket/internal/requests"
)

// UploadColumns are the columns of a list of outside families, as the
// provider exports them (a header row names them; order is free).
var UploadColumns = []string{"child_first_name", "child_last_name", "birth_date", "parent_first_name", "parent_last_name",
	"email", "phone", "language", "days", "start"}

// RowError is what is wrong with one line of an uploaded list.
type RowError struct {
	Line   int
	Errors validate.Errors
}

// maxUploadRows bounds one upload: a location has at most a few hundred
// children.
const maxUploadRows = 500

// AddOutsideList registers every line of a CSV list of outside families at
// the desk in ctx (see AddOutside). Good lines are added even when others
// are wrong; the wrong ones come back by line number, to correct and send
// again. A list without the needed columns is refused as a whole.
func (s *Service) AddOutsideList(ctx context.Context, id ID, r io.Reader, municipality string, actor requests.Actor) (int, []RowError, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return 0, nil, validate.Errors{{Field: "file", Code: "upload", Message: "not a CSV list with a header row"}}
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, need := range []string{"child_first_name", "child_last_name", "birth_date"} {
		if _, ok := col[need]; !ok {
			return 0, nil, validate.Errors{{Field: "file", Code: "upload", Message: "the header must name " + need}}
		}
	}
	added, line := 0, 1
	var bad []RowError
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			bad = append(bad, RowError{Line: line, Errors: validate.Errors{{Field: "file", Code: "upload", Message: err.Error()}}})
			continue
		}
		if line-1 > maxUploadRows {
			return added, bad, validate.Errors{{Field: "file", Code: "upload", Message: fmt.Sprintf("at most %d families at once", maxUploadRows)}}
		}
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		f := OutsideFamily{ChildFirstName: get("child_first_name"), ChildLastName: get("child_last_name"), BirthDate: get("birth_date"),
			ParentFirstName: get("parent_first_name"), ParentLastName: get("parent_last_name"), Email: get("email"), Phone: get("phone"),
			Language: get("language"), MunicipalityNIS: municipality, Days: strings.Fields(strings.ReplaceAll(get("days"), ",", " ")),
			Start: get("start")}
		_, err = s.AddOutside(ctx, id, f, actor)
		if es, ok := validate.As(err); ok {
			bad = append(bad, RowError{Line: line, Errors: es})
			continue
		}
		if err != nil {
			return added, bad, err
		}
		added++
	}
	return added, bad, nil
}
