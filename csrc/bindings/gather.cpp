// _C.take_rows on NumPy arrays of any dtype; _C.index_add_rows, its adjoint, on float arrays.
#include <string>
#include <vector>

#include "bindings/contiguous.h"
#include "common/array_view.h"
#include "common/checks.h"
#include "fastdl/gather.h"

namespace fastdl::bindings {
namespace {

using Indices = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

// `index` (a 1-D integer array, checked by the caller) as int64, each in [0, rows): else an
// IndexError naming `op`.
Indices checked_indices(const char* op, const py::array& index, int64_t rows) {
  const auto idx = Indices::ensure(index);
  const int64_t* ix = idx.data();
  for (int64_t r = 0; r < idx.size(); ++r) {
    if (ix[r] < 0 || ix[r] >= rows) {
      throw py::index_error(std::string(op) + ": index " + std::to_string(ix[r]) +
                            " is out of bounds for " + std::to_string(rows) + " rows");
    }
  }
  return idx;
}

py::array take_rows_entry(const py::array& a, const py::array& index) {
  if (a.ndim() < 1) {
    throw py::value_error("take_rows: the array must have at least one dimension, got shape " +
                          ArrayView(a).shape_str());
  }
  if (!(a.flags() & py::array::c_style)) {
    throw py::value_error("take_rows: the array must be C-contiguous (shape " +
                          ArrayView(a).shape_str() + ")");
  }
  if (index.ndim() != 1 || index.dtype().kind() != 'i') {
    throw py::type_error("take_rows: the indices must be a 1-D integer array, got dtype " +
                         py::str(index.dtype()).cast<std::string>() + " and shape " +
                         ArrayView(index).shape_str());
  }
  const auto idx = checked_indices("take_rows", index, a.shape(0));
  const int64_t n = a.shape(0), rows = idx.size();
  const int64_t* ix = idx.data();
  std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
  shape[0] = rows;
  py::array out(a.dtype(), shape);
  const int64_t row_bytes = n > 0 ? static_cast<int64_t>(a.nbytes()) / n : 0;
  const char* src = static_cast<const char*>(a.data());
  char* dst = static_cast<char*>(out.mutable_data());
  {
    py::gil_scoped_release release;
    take_rows(src, row_bytes, ix, rows, dst);
  }
  return out;
}

template <class T>
void index_add_rows_typed(py::array& out, const Indices& index, const py::array& values) {
  const auto vc = contiguous<T>(values);
  T* o = static_cast<T*>(out.mutable_data());
  const int64_t width = out.shape(1);
  if (o < vc.data() + vc.size() && vc.data() < o + out.size()) {
    throw py::value_error("index_add_rows: out and values must not share memory");
  }
  py::gil_scoped_release release;
  index_add_rows<T>(o, width, index.data(), index.size(), vc.data());
}

void index_add_rows_entry(py::array out, const py::array& index, const py::array& values) {
  constexpr const char* kOp = "index_add_rows";
  const ArrayView ov(out), vv(values);
  require_float(kOp, "out", ov);
  require_same_dtype(kOp, "out", ov, "values", vv);
  if (ov.ndim() != 2 || !out.writeable() || !(out.flags() & py::array::c_style)) {
    throw py::value_error(std::string(kOp) + ": out (shape " + ov.shape_str() +
                          ") must be a writeable C-contiguous 2-D array: it is added to in place");
  }
  if (index.ndim() != 1 || index.dtype().kind() != 'i') {
    throw py::type_error(std::string(kOp) + ": the indices must be a 1-D integer array, got " +
                         "dtype " + py::str(index.dtype()).cast<std::string>() + " and shape " +
                         ArrayView(index).shape_str());
  }
  if (vv.ndim() != 2 || vv.dim(0) != index.shape(0) || vv.dim(1) != ov.dim(1)) {
    throw py::value_error(std::string(kOp) + ": values has shape " + vv.shape_str() +
                          "; expected (" + std::to_string(index.shape(0)) + ", " +
                          std::to_string(ov.dim(1)) + "): a row per index, of out's width");
  }
  const Indices idx = checked_indices(kOp, index, ov.dim(0));
  if (ov.dtype == DType::float32) {
    index_add_rows_typed<float>(out, idx, values);
  } else {
    index_add_rows_typed<double>(out, idx, values);
  }
}

}  // namespace

void bind_gather(py::module_& m) {
  m.def("take_rows", &take_rows_entry, py::arg("a"), py::arg("index"),
        "a[index] for a C-contiguous array of any dtype and 1-D integer indices (no negative "
        "ones): a new array of the rows, copied by the available threads.");
  m.def("index_add_rows", &index_add_rows_entry, py::arg("out"), py::arg("index"),
        py::arg("values"),
        "out[index[i]] += values[i] for every i, in place, repeated indices adding up: out a "
        "writeable C-contiguous (rows, n) float32/float64 array, index 1-D integers in [0, rows), "
        "values (len(index), n) of out's dtype. Each element sums in the order of i, whatever "
        "the thread count.");
}

}  // namespace fastdl::bindings
