// _C.run_backward: the loop of reverse-mode differentiation, walked in C++.
//
// The graph is made of Python objects (fastdl.autograd.Function instances as nodes, Tensors as
// edges) and every node's backward is Python; what this file takes over is the bookkeeping
// between them: counting each node's consumers, passing gradients on in Kahn's order, adding
// them up on fan-out, storing the leaves' gradients and freeing what the nodes saved. In Python
// that bookkeeping cost more than the kernels of a small network's whole backward pass.
//
// Semantics (fastdl/autograd.py documents them for users):
// * a node runs once every consumer of its output reachable from the root has passed its
//   gradient on; a node that received nothing passes nothing;
// * `node.backward(node, grad)` returns one gradient per positional input (a bare array for a
//   single input; fewer than the inputs means None for the rest); a gradient for an input that
//   does not require grad is ignored; each must have its input's shape and is cast to its dtype;
// * a leaf's first gradient is stored as a new Tensor around the array when nothing else can
//   hold it (a fresh array, not a view, not the gradient the node received, not given to
//   another leaf), else around a copy; later gradients are added to it;
// * without retain_graph, each node's attributes are dropped after it ran and `parents` set to
//   None, which a later walk reports as a freed graph.
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace fastdl::bindings {
namespace {

namespace py = pybind11;

// Attribute names, interned once.
struct Names {
  py::str parents{"parents"}, node{"_node"}, data{"data"}, grad{"grad"},
      requires_grad{"requires_grad"}, backward{"backward"}, shape{"shape"}, dtype{"dtype"},
      base{"base"}, astype{"astype"}, copy{"copy"};
  Names() {
    for (py::str* s : {&parents, &node, &data, &grad, &requires_grad, &backward, &shape, &dtype,
                       &base, &astype, &copy}) {
      PyObject* p = s->release().ptr();
      PyUnicode_InternInPlace(&p);
      *s = py::reinterpret_steal<py::str>(p);
    }
  }
};

const Names& names() {
  static const Names* n = new Names();  // never destroyed: outlives the interpreter's objects
  return *n;
}

py::object get(const py::handle& obj, const py::str& name) {
  PyObject* r = PyObject_GetAttr(obj.ptr(), name.ptr());
  if (!r) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(r);
}

void set(const py::handle& obj, const py::str& name, const py::handle& value) {
  if (PyObject_SetAttr(obj.ptr(), name.ptr(), value.ptr()) != 0) throw py::error_already_set();
}

bool equal(const py::handle& a, const py::handle& b) {
  if (a.ptr() == b.ptr()) return true;
  const int r = PyObject_RichCompareBool(a.ptr(), b.ptr(), Py_EQ);
  if (r < 0) throw py::error_already_set();
  return r == 1;
}

std::string type_name(const py::handle& obj) {
  return py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

class Engine {
 public:
  Engine(py::handle tensor_type, bool retain_graph)
      : tensor_type_(tensor_type.ptr()), retain_graph_(retain_graph), n_(names()) {}

  void run(const py::object& root_node, const py::object& grad) {
    count_consumers(root_node);
    nodes_[root_node.ptr()].grad = grad;
    std::vector<PyObject*> ready{root_node.ptr()};
    while (!ready.empty()) {
      PyObject* node_ptr = ready.back();
      ready.pop_back();
      Entry& entry = nodes_.at(node_ptr);
      const py::object node = entry.node;
      const py::object grad_in = std::move(entry.grad);
      step(node, grad_in, ready);
    }
  }

 private:
  struct Entry {
    py::object node;  // a strong reference: freeing saved tensors must not free the node
    py::object grad;  // the sum of what its consumers passed on so far
    int pending = 0;  // consumers that have not passed their gradient on yet
  };

  bool is_tensor(const py::handle& obj) const {
    return reinterpret_cast<PyObject*>(Py_TYPE(obj.ptr())) == tensor_type_;
  }

  // The node behind a Tensor argument, or None.
  py::object node_of(const py::handle& tensor) const { return get(tensor, n_.node); }

  void count_consumers(const py::object& root) {
    nodes_[root.ptr()].node = root;
    std::vector<py::object> stack{root};
    while (!stack.empty()) {
      const py::object node = std::move(stack.back());
      stack.pop_back();
      const py::object parents = get(node, n_.parents);
      if (parents.is_none()) continue;  // freed: reported when the walk reaches it
      for (const py::handle p : py::reinterpret_borrow<py::tuple>(parents)) {
        if (!is_tensor(p)) continue;
        py::object parent = node_of(p);
        if (parent.is_none()) continue;
        auto [it, inserted] = nodes_.try_emplace(parent.ptr());
        ++it->second.pending;
        if (inserted) {
          it->second.node = parent;
          stack.push_back(std::move(parent));
        }
      }
    }
  }

  void step(const py::object& node, const py::object& grad, std::vector<PyObject*>& ready) {
    const py::object parents_obj = get(node, n_.parents);
    if (parents_obj.is_none()) {
      throw std::runtime_error("backward: the graph through " + type_name(node) +
                               " was already freed by an earlier backward(); pass "
                               "retain_graph=True to the first call to go through it twice");
    }
    const auto parents = py::reinterpret_borrow<py::tuple>(parents_obj);
    py::tuple in_grads;
    if (grad) {  // else nothing flowed into this node: its inputs get nothing from it
      py::object result = get(node, n_.backward)(node, grad);
      in_grads = PyTuple_Check(result.ptr()) ? py::reinterpret_steal<py::tuple>(result.release())
                                              : py::make_tuple(result);
    }
    const py::ssize_t given = in_grads ? static_cast<py::ssize_t>(in_grads.size()) : 0;
    for (py::ssize_t i = 0; i < static_cast<py::ssize_t>(parents.size()); ++i) {
      const py::handle parent = parents[i];
      if (!is_tensor(parent)) continue;
      const py::object parent_node = node_of(parent);
      py::object pg = i < given ? py::reinterpret_borrow<py::object>(in_grads[i]) : py::none();
      if (!pg.is_none() && get(parent, n_.requires_grad).ptr() == Py_True) {
        pg = conform(node, parent, std::move(pg));
        if (parent_node.is_none()) {
          accumulate_leaf(parent, pg, grad);
          continue;
        }
        Entry& e = nodes_.at(parent_node.ptr());
        if (!e.grad) {
          e.grad = std::move(pg);
        } else {
          PyObject* sum = PyNumber_Add(e.grad.ptr(), pg.ptr());
          if (!sum) throw py::error_already_set();
          e.grad = py::reinterpret_steal<py::object>(sum);
        }
      }
      if (!parent_node.is_none()) {
        Entry& e = nodes_.at(parent_node.ptr());
        if (--e.pending == 0) ready.push_back(parent_node.ptr());
      }
    }
    if (!retain_graph_) {
      PyObject* dict = PyObject_GenericGetDict(node.ptr(), nullptr);
      if (!dict) throw py::error_already_set();
      PyDict_Clear(dict);
      Py_DECREF(dict);
      set(node, n_.parents, py::none());  // after clearing: marks the node as freed
    }
  }

  // The gradient checked against its input's shape and cast to its dtype.
  py::object conform(const py::object& node, const py::handle& parent, py::object pg) const {
    const py::object data = get(parent, n_.data);
    const py::object pg_shape = get(pg, n_.shape), shape = get(data, n_.shape);
    if (!equal(pg_shape, shape)) {
      throw std::runtime_error("backward: " + type_name(node) + " produced a gradient of shape " +
                               py::str(pg_shape).cast<std::string>() +
                               " for an input of shape " + py::str(shape).cast<std::string>());
    }
    const py::object dtype = get(data, n_.dtype);
    if (!equal(get(pg, n_.dtype), dtype)) pg = get(pg, n_.astype)(dtype);
    return pg;
  }

  void accumulate_leaf(const py::handle& leaf, const py::object& pg, const py::object& received) {
    const py::object existing = get(leaf, n_.grad);
    if (existing.is_none()) {
      // The gradient is handed to the user, who may change it in place: it must not share
      // memory with an array still in use elsewhere.
      const bool owned = pg.ptr() != received.ptr() && get(pg, n_.base).is_none() &&
                         given_to_leaves_.count(pg.ptr()) == 0;
      given_to_leaves_.insert(pg.ptr());
      set(leaf, n_.grad, make_leaf_tensor(owned ? pg : get(pg, n_.copy)()));
    } else {
      PyObject* sum = PyNumber_Add(get(existing, n_.data).ptr(), pg.ptr());
      if (!sum) throw py::error_already_set();
      set(existing, n_.data, py::reinterpret_steal<py::object>(sum));
    }
  }

  py::object make_leaf_tensor(const py::object& data) const {
    auto* type = reinterpret_cast<PyTypeObject*>(tensor_type_);
    PyObject* t = type->tp_alloc(type, 0);
    if (!t) throw py::error_already_set();
    py::object tensor = py::reinterpret_steal<py::object>(t);
    set(tensor, n_.data, data);
    set(tensor, n_.grad, py::none());
    set(tensor, n_.requires_grad, py::bool_(false));
    set(tensor, n_.node, py::none());
    return tensor;
  }

  PyObject* tensor_type_;
  bool retain_graph_;
  const Names& n_;
  std::unordered_map<PyObject*, Entry> nodes_;
  std::unordered_set<PyObject*> given_to_leaves_;
};

}  // namespace

void bind_autograd(py::module_& m) {
  m.def(
      "run_backward",
      [](const py::object& root_node, const py::object& grad, bool retain_graph,
         const py::handle& tensor_type) {
        Engine(tensor_type, retain_graph).run(root_node, grad);
      },
      py::arg("root_node"), py::arg("grad"), py::arg("retain_graph"), py::arg("tensor_type"),
      "Backpropagates `grad` from the graph node `root_node` (see fastdl.autograd.backward).");
}

}  // namespace fastdl::bindings
