// _C.gemm: batched, strided, fused-epilogue matrix multiply on NumPy arrays.
#include <string>

#include "autograd/tensor.h"
#include "common/activation_names.h"
#include "common/checks.h"
#include "contiguous.h"
#include "fastdl/gemm.h"

namespace fastdl::bindings {
namespace {

// Element strides of a 2-D or 3-D array, with batch stride 0 for 2-D; copies the array first if
// a byte stride is not a whole number of elements.
struct Operand {
  py::array array;
  int64_t batch, rows, cols, batch_stride, row_stride, col_stride;
};

template <class T>
Operand operand(const py::array& a) {
  py::array arr = a;
  auto whole = [&](py::ssize_t s) { return s % static_cast<py::ssize_t>(sizeof(T)) == 0; };
  bool ok = true;
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) ok = ok && whole(arr.strides(i));
  if (!ok) arr = contiguous<T>(arr);
  const int nd = static_cast<int>(arr.ndim());
  const auto el = [&](int i) { return static_cast<int64_t>(arr.strides(i) / py::ssize_t(sizeof(T))); };
  Operand op{arr, nd == 3 ? static_cast<int64_t>(arr.shape(0)) : 1,
             static_cast<int64_t>(arr.shape(nd - 2)), static_cast<int64_t>(arr.shape(nd - 1)),
             nd == 3 ? el(0) : 0, el(nd - 2), el(nd - 1)};
  // A dimension of size 1 may carry any stride; normalizing it keeps the kernel's unit-stride
  // fast paths available.
  if (op.cols == 1) op.col_stride = 1;
  if (op.rows == 1) op.row_stride = op.cols;
  return op;
}

template <class T>
py::array gemm_typed(const std::string& op_name, const ArrayView& av, const py::array& a,
                     const py::array& b, const py::object& bias, Activation act, double alpha,
                     double act_alpha) {
  const Operand A = operand<T>(a), B = operand<T>(b);
  const int64_t batch = std::max(A.batch, B.batch);
  const int64_t M = A.rows, K = A.cols, N = B.cols;

  OptionalArray<T> bias_arr;
  if (!bias.is_none()) {
    py::array bias_in = py::array::ensure(bias);
    if (!bias_in) throw py::type_error(op_name + ": bias must be an array");
    const ArrayView bias_view(bias_in);
    require_same_dtype(op_name, "a", av, "bias", bias_view);
    if (bias_in.ndim() != 1 || bias_in.shape(0) != N) {
      throw py::value_error(op_name + ": bias has shape " + bias_view.shape_str() +
                            " but the product has " + std::to_string(N) +
                            " columns; expected shape (" + std::to_string(N) + ",)");
    }
    bias_arr = contiguous<T>(bias_in);
  }

  const bool batched = a.ndim() == 3 || b.ndim() == 3;
  py::array_t<T> out = batched ? new_array<T>({batch, M, N}) : new_array<T>({M, N});
  T* c = out.mutable_data();

  GemmEpilogue<T> ep;
  ep.alpha = static_cast<T>(alpha);
  ep.bias = data_or_null(bias_arr);
  ep.act = act;
  ep.act_alpha = static_cast<T>(act_alpha);
  const StridedMatrix<T> sa{static_cast<const T*>(A.array.data()), A.row_stride, A.col_stride};
  const StridedMatrix<T> sb{static_cast<const T*>(B.array.data()), B.row_stride, B.col_stride};
  {
    py::gil_scoped_release release;
    if (batch == 1) {
      gemm<T>(M, N, K, sa, sb, c, N, ep);
    } else {
      gemm_batched<T>(batch, M, N, K, sa, A.batch_stride, sb, B.batch_stride, c, N, ep);
    }
  }
  return std::move(out);
}

// The checks common to every product, then the product: av and bv are views of a and b.
py::array checked_gemm(const std::string& op, const py::array& a, const ArrayView& av,
                       const py::array& b, const ArrayView& bv, const py::object& bias,
                       Activation act, double alpha, double act_alpha) {
  require_float(op, "a", av);
  require_float(op, "b", bv);
  require_same_dtype(op, "a", av, "b", bv);
  auto shapes = [&] { return "a has shape " + av.shape_str() + ", b has shape " + bv.shape_str(); };
  if (a.ndim() < 2 || a.ndim() > 3 || b.ndim() < 2 || b.ndim() > 3) {
    throw py::value_error(op + ": operands must be 2-D or 3-D (batched); " + shapes());
  }
  if (a.shape(a.ndim() - 1) != b.shape(b.ndim() - 2)) {
    throw py::value_error(op + ": inner dimensions do not match: " + shapes() + " (" +
                          std::to_string(a.shape(a.ndim() - 1)) + " != " +
                          std::to_string(b.shape(b.ndim() - 2)) + ")");
  }
  if (a.ndim() == 3 && b.ndim() == 3 && a.shape(0) != b.shape(0)) {
    throw py::value_error(op + ": batch sizes do not match: " + shapes());
  }
  if (av.dtype == DType::float32) {
    return gemm_typed<float>(op, av, a, b, bias, act, alpha, act_alpha);
  }
  return gemm_typed<double>(op, av, a, b, bias, act, alpha, act_alpha);
}

py::array gemm_entry(const py::array& a, const py::array& b, const py::object& bias,
                     const std::string& activation, double alpha, double act_alpha,
                     const std::string& op) {
  const Activation act = parse_activation(op.c_str(), activation);
  return checked_gemm(op, a, ArrayView(a), b, ArrayView(b), bias, act, alpha, act_alpha);
}

// fastdl.matmul's most common call, two 2-D arrays of one floating dtype, in one native call
// from Python to the Tensor it returns; None for any other operands, which take the general
// path (NumPy's promotions and broadcasting, written in Python). For a product of a few
// microseconds, the Python layers this skips were a third of its time.
py::object matmul_2d_entry(const py::handle& a, const py::handle& b) {
  PyTypeObject* const ndarray = py::detail::npy_api::get().PyArray_Type_;
  if (Py_TYPE(a.ptr()) != ndarray || Py_TYPE(b.ptr()) != ndarray) return py::none();
  const auto arr_a = py::reinterpret_borrow<py::array>(a);
  const auto arr_b = py::reinterpret_borrow<py::array>(b);
  if (arr_a.ndim() != 2 || arr_b.ndim() != 2) return py::none();
  const ArrayView av(arr_a), bv(arr_b);
  if (av.dtype != bv.dtype || (av.dtype != DType::float32 && av.dtype != DType::float64)) {
    return py::none();
  }
  return tensor_outside_graph(
      checked_gemm("matmul", arr_a, av, arr_b, bv, py::none(), Activation::none, 1.0, 0.0));
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def("gemm", &gemm_entry, py::arg("a"), py::arg("b"), py::arg("bias") = py::none(),
        py::arg("activation") = "none", py::arg("alpha") = 1.0, py::arg("act_alpha") = 0.0,
        py::arg("op") = "gemm",
        R"(act(alpha * a @ b + bias) for 2-D or 3-D (batched) float32/float64 arrays.

A 3-D operand may have batch stride 0 (np.broadcast_to) to share one matrix over the batch.
Returns a new C-contiguous array. `op` names the operation in error messages.)");
  m.def("matmul_2d", &matmul_2d_entry, py::arg("a"), py::arg("b"),
        "a @ b as a Tensor outside the graph when a and b are 2-D NumPy arrays (not subclasses) "
        "of one floating dtype; None for any other operands.");
}

}  // namespace fastdl::bindings
