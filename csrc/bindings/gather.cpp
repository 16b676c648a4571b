// _C.take_rows on NumPy arrays of any dtype.
#include <string>
#include <vector>

#include "common/array_view.h"
#include "fastdl/gather.h"

namespace fastdl::bindings {
namespace {

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
  const auto idx = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(index);
  const int64_t n = a.shape(0), rows = idx.size();
  const int64_t* ix = idx.data();
  for (int64_t r = 0; r < rows; ++r) {
    if (ix[r] < 0 || ix[r] >= n) {
      throw py::index_error("take_rows: index " + std::to_string(ix[r]) +
                            " is out of bounds for " + std::to_string(n) + " rows");
    }
  }
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

}  // namespace

void bind_gather(py::module_& m) {
  m.def("take_rows", &take_rows_entry, py::arg("a"), py::arg("index"),
        "a[index] for a C-contiguous array of any dtype and 1-D integer indices (no negative "
        "ones): a new array of the rows, copied by the available threads.");
}

}  // namespace fastdl::bindings
