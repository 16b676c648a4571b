// The bookkeeping of autograd, in C++: recording an operation (each Function subclass's
// `apply`) and walking the graph backward (_C.run_backward).
//
// The graph is made of Python objects (fastdl.autograd.Function instances as nodes, Tensors as
// edges) and every forward and backward is Python; what this file takes over is the work around
// them: deciding whether to record, unwrapping Tensor arguments, wrapping the result, counting
// each node's consumers, passing gradients on in Kahn's order, adding them up on fan-out,
// storing the leaves' gradients and freeing what the nodes saved. Written in Python, that work
// cost more than the kernels of a small network's whole training step.
//
// Recording (Function.apply): grad mode on and a Tensor argument that requires grad make the
// result require grad; the Function instance is then its node, with the arguments as `parents`.
// A forward that returns a tuple of arrays makes a tuple of Tensors, each knowing its position
// (`_output_index`); the node keeps their shapes and dtypes (`_outputs`), and outputs that are
// not floating are left out of the graph.
//
// Backward (fastdl/autograd.py documents it for users):
// * a node runs once every consumer of its outputs reachable from the root has passed its
//   gradient on; a node that received nothing passes nothing;
// * `node.backward(node, *grads)` gets one gradient per output: the sum of what the output's
//   consumers passed on; for an output that received nothing, zeros of its shape and dtype, or
//   None when the Function sets `materialize_grads = False`;
// * it returns one gradient per positional input (a bare array for a single input; fewer than
//   the inputs means None for the rest); a gradient for an input that does not require grad is
//   ignored; each must have its input's shape and is cast to its dtype;
// * a leaf's first gradient is stored as a new Tensor around the array when nothing else can
//   hold it (a fresh array, not a view, not the gradient the node received, not given to
//   another leaf), else around a copy; later gradients are added to it;
// * for fastdl.grad, only the nodes through which an asked-for tensor is reached run, each told
//   which of its inputs are wanted (`_grad_mask`, read by Function.needs_grad); the gradients
//   of the other inputs are not computed, or dropped;
// * without retain_graph, each node's attributes are dropped after it ran and `parents` set to
//   None, which a later walk reports as a freed graph.
#include "autograd/tensor.h"

#include <pybind11/pybind11.h>
#include <structmember.h>
#include <descrobject.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace fastdl::bindings {
namespace {

namespace py = pybind11;

// ----------------------------------------------------------------------------- shared state

bool grad_enabled = true;
PyTypeObject* tensor_type = nullptr;  // fastdl.Tensor, registered by fastdl.autograd
PyTypeObject* ndarray_type = nullptr;
PyObject* numpy_asarray = nullptr;
PyObject* zeros_factory = nullptr;  // fastdl.autograd's zeros(shape, dtype, like), registered

// Attribute names, interned once.
struct Names {
  py::str parents{"parents"}, data{"data"}, grad{"grad"}, requires_grad{"requires_grad"},
      backward{"backward"}, shape{"shape"}, dtype{"dtype"}, base{"base"}, astype{"astype"},
      copy{"copy"}, output_index{"_output_index"}, outputs{"_outputs"},
      materialize_grads{"materialize_grads"}, kind{"kind"}, grad_mask{"_grad_mask"};
  Names() {
    for (py::str* s : {&parents, &data, &grad, &requires_grad, &backward, &shape, &dtype, &base,
                       &astype, &copy, &output_index, &outputs, &materialize_grads, &kind,
                       &grad_mask}) {
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

PyTypeObject* registered_tensor_type() {
  if (!tensor_type) throw std::runtime_error("autograd: fastdl.Tensor is not registered yet");
  return tensor_type;
}

bool is_tensor(PyObject* obj) { return PyObject_TypeCheck(obj, tensor_type); }

bool is_gpu_array(const py::handle& obj) {
  // Interned once and never released: it must outlive every call, up to interpreter exit.
  static PyObject* const interface = PyUnicode_InternFromString("__cuda_array_interface__");
  return PyObject_HasAttr(obj.ptr(), interface);
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

// Where the Tensor's slots lie in its instances (and its subclasses', which keep the base's
// layout): reading and writing them directly costs a load and a store, where an attribute
// lookup per access cost a visible share of a small operation.
struct TensorSlots {
  Py_ssize_t data = 0, grad = 0, requires_grad = 0, node = 0, output_index = 0, keras_mask = 0;
};
TensorSlots tensor_slots;

Py_ssize_t slot_offset(const py::type& type, const char* name) {
  PyObject* descr = PyDict_GetItemString(reinterpret_cast<PyTypeObject*>(type.ptr())->tp_dict,
                                         name);
  if (!descr || Py_TYPE(descr) != &PyMemberDescr_Type) {
    throw std::runtime_error(std::string("autograd: the Tensor type has no slot ") + name);
  }
  return reinterpret_cast<PyMemberDescrObject*>(descr)->d_member->offset;
}

// A slot of a Tensor (borrowed; nullptr when it was never set).
PyObject* slot(PyObject* tensor, Py_ssize_t offset) {
  return *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(tensor) + offset);
}

// Sets an empty slot of a Tensor just allocated.
void init_slot(PyObject* tensor, Py_ssize_t offset, PyObject* value) {
  Py_INCREF(value);
  *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(tensor) + offset) = value;
}

bool requires_grad_of(PyObject* tensor) {
  return slot(tensor, tensor_slots.requires_grad) == Py_True;
}

// The node that made a Tensor (None for a leaf).
py::object node_of(PyObject* tensor) {
  PyObject* node = slot(tensor, tensor_slots.node);
  return py::reinterpret_borrow<py::object>(node ? node : Py_None);
}

// A Tensor's array (an error for a Tensor whose data was never set).
py::object data_of(PyObject* tensor) {
  PyObject* data = slot(tensor, tensor_slots.data);
  if (!data) throw std::runtime_error("autograd: a Tensor without data");
  return py::reinterpret_borrow<py::object>(data);
}

// An array: NumPy gives scalars for arithmetic on 0-d operands (an output of forward, a gradient
// a backward computed); GPU arrays are kept as they are.
py::object as_array(py::object data) {
  if (Py_TYPE(data.ptr()) == ndarray_type || is_gpu_array(data)) return data;
  PyObject* a = PyObject_CallOneArg(numpy_asarray, data.ptr());
  if (!a) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(a);
}

// A Tensor around `data` with no gradient, made by output `index` of `node` (None for a leaf).
py::object new_tensor(const py::handle& data, bool requires_grad, const py::handle& node,
                      int index = 0) {
  PyTypeObject* type = registered_tensor_type();
  PyObject* t = type->tp_alloc(type, 0);
  if (!t) throw py::error_already_set();
  py::object tensor = py::reinterpret_steal<py::object>(t);
  const TensorSlots& s = tensor_slots;
  init_slot(t, s.data, data.ptr());
  init_slot(t, s.grad, Py_None);
  init_slot(t, s.requires_grad, requires_grad ? Py_True : Py_False);
  init_slot(t, s.node, node.ptr());
  PyObject* i = PyLong_FromLong(index);
  if (!i) throw py::error_already_set();
  init_slot(t, s.output_index, i);
  Py_DECREF(i);
  init_slot(t, s.keras_mask, Py_None);
  return tensor;
}

// ----------------------------------------------------------------------------- backward

// Where a backward pass starts: output `index` of `node`, with gradient `grad`.
struct Seed {
  py::object node;
  int index;
  py::object grad;
};

int output_index_of(PyObject* tensor) {
  PyObject* index = slot(tensor, tensor_slots.output_index);
  return index ? static_cast<int>(PyLong_AsLong(index)) : 0;
}

class Engine {
 public:
  // Gradients accumulate into the leaves' .grad; with `capture` (a tuple of Tensors) they are
  // returned for those tensors instead (see run), and no .grad is touched.
  Engine(bool retain_graph, const py::object& capture = py::none())
      : retain_graph_(retain_graph), n_(names()) {
    registered_tensor_type();
    if (capture.is_none()) return;
    capturing_ = true;
    const auto tensors = py::reinterpret_borrow<py::tuple>(capture);
    results_.resize(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
      PyObject* t = tensors[i].ptr();
      if (!is_tensor(t)) {
        throw py::type_error("grad: inputs[" + std::to_string(i) + "] is a " +
                             py::str(py::type::handle_of(t).attr("__name__")).cast<std::string>() +
                             ", not a Tensor");
      }
      const py::object node = node_of(t);
      if (node.is_none()) {
        captured_leaves_[t].push_back(i);
      } else {
        captured_outputs_[{node.ptr(), output_index_of(t)}].push_back(i);
      }
    }
  }

  // Backpropagates from each seed (a node, which of its outputs, the gradient there). A node
  // runs once every consumer of its outputs reachable from the seeds has passed its gradient on.
  void run(const std::vector<Seed>& seeds) {
    for (const Seed& seed : seeds) count_consumers(seed.node);
    if (capturing_) mark_paths_to_captures();
    for (const Seed& seed : seeds) add_gradient(nodes_.at(seed.node.ptr()), seed.index, seed.grad);
    std::vector<PyObject*> ready;
    for (const Seed& seed : seeds) {
      Entry& e = nodes_.at(seed.node.ptr());
      if (e.pending == 0 && !e.queued) {
        e.queued = true;
        ready.push_back(seed.node.ptr());
      }
    }
    while (!ready.empty()) {
      Entry& entry = nodes_.at(ready.back());
      ready.pop_back();
      const py::object node = entry.node;
      std::vector<py::object> grads = std::move(entry.grads);
      step(node, entry.multi, entry.leads_to_capture, grads, ready);
    }
  }

  // The captured gradients as Tensors, in the order of `capture`: None where nothing reached
  // a tensor. One that is still held elsewhere (a gradient passed through unchanged, a view,
  // one given twice) is copied, as a leaf's .grad would be: the caller may change it in place.
  py::tuple results() {
    py::tuple out(results_.size());
    std::unordered_set<PyObject*> given;
    for (size_t i = 0; i < results_.size(); ++i) {
      const py::object& g = results_[i];
      if (!g) {
        out[i] = py::none();
        continue;
      }
      const bool shared = passed_on_.count(g.ptr()) || given.count(g.ptr()) ||
                          !get(g, n_.base).is_none();
      given.insert(g.ptr());
      out[i] = new_tensor(as_array(shared ? get(g, n_.copy)() : g), false, py::none());
    }
    return out;
  }

 private:
  struct Entry {
    py::object node;                 // a strong reference: freeing saved tensors must not free it
    std::vector<py::object> grads;   // per output, the sum of what its consumers passed on
    int pending = 0;                 // consumers that have not passed their gradient on yet
    bool multi = false;              // the node has several outputs (a tuple from forward)
    bool queued = false;             // put on the ready list (a seed may also be a consumer's)
    // Capturing: whether a captured tensor lies on the way from this node to the leaves (else
    // its backward need not run); whether mark_paths_to_captures has been here.
    bool leads_to_capture = true;
    bool marked = false;
  };

  // The entry of `node`, made on first sight with one gradient slot per output.
  std::pair<Entry*, bool> entry_for(const py::object& node) {
    auto [it, inserted] = nodes_.try_emplace(node.ptr());
    Entry& e = it->second;
    if (inserted) {
      e.node = node;
      const py::object outputs = get(node, n_.outputs);  // None (the class default) for one
      e.multi = !outputs.is_none();
      e.grads.resize(e.multi ? static_cast<size_t>(py::len(outputs)) : 1);
    }
    return {&e, inserted};
  }

  void count_consumers(const py::object& root) {
    entry_for(root);
    std::vector<py::object> stack{root};
    while (!stack.empty()) {
      const py::object node = std::move(stack.back());
      stack.pop_back();
      const py::object parents = get(node, n_.parents);
      if (parents.is_none()) continue;  // freed: reported when the walk reaches it
      for (const py::handle p : py::reinterpret_borrow<py::tuple>(parents)) {
        if (!is_tensor(p.ptr())) continue;
        py::object parent = node_of(p.ptr());
        if (parent.is_none()) continue;
        auto [entry, inserted] = entry_for(parent);
        ++entry->pending;
        if (inserted) stack.push_back(std::move(parent));
      }
    }
  }

  // Capturing: finds the nodes through which a gradient can reach a captured tensor (one of
  // their outputs is captured, or a parent is a captured leaf or comes from such a node), in
  // one depth-first walk. The others are skipped, and the nodes that run are told which of
  // their inputs are wanted (Function.needs_grad): fastdl.grad(loss, generator_weights) through
  // a discriminator computes none of the discriminator's weight gradients.
  void mark_paths_to_captures() {
    struct Frame {
      Entry* entry;
      py::tuple parents;
      size_t next;
    };
    std::vector<Frame> stack;
    auto open = [&](Entry& e) {
      e.marked = true;
      e.leads_to_capture = has_captured_output(e.node);
      const py::object parents = get(e.node, n_.parents);
      stack.push_back({&e, parents.is_none() ? py::tuple()
                                             : py::reinterpret_borrow<py::tuple>(parents), 0});
    };
    for (auto& item : nodes_) {
      if (item.second.marked) continue;
      open(item.second);
      while (!stack.empty()) {
        Frame& frame = stack.back();
        if (frame.next == frame.parents.size()) {
          const bool leads = frame.entry->leads_to_capture;
          stack.pop_back();
          if (leads && !stack.empty()) stack.back().entry->leads_to_capture = true;
          continue;
        }
        PyObject* p = frame.parents[frame.next++].ptr();
        if (!is_tensor(p) || !requires_grad_of(p)) continue;
        const py::object parent = node_of(p);
        if (parent.is_none()) {
          if (captured_leaves_.count(p)) frame.entry->leads_to_capture = true;
          continue;
        }
        Entry& parent_entry = nodes_.at(parent.ptr());
        if (!parent_entry.marked) {
          open(parent_entry);  // `frame` may dangle from here on
        } else if (parent_entry.leads_to_capture) {
          frame.entry->leads_to_capture = true;
        }
      }
    }
  }

  bool has_captured_output(const py::object& node) const {
    const auto it = nodes_.find(node.ptr());
    const size_t outputs = it == nodes_.end() ? 1 : it->second.grads.size();
    for (size_t i = 0; i < outputs; ++i) {
      if (captured_outputs_.count({node.ptr(), static_cast<int>(i)})) return true;
    }
    return false;
  }

  // Whether the gradient of `parent`, an input of a node being run, is wanted: always, unless
  // capturing and no captured tensor lies behind it.
  bool wanted(PyObject* parent) const {
    if (!is_tensor(parent) || !requires_grad_of(parent)) return false;
    if (!capturing_) return true;
    const py::object node = node_of(parent);
    return node.is_none() ? captured_leaves_.count(parent) > 0
                          : nodes_.at(node.ptr()).leads_to_capture;
  }

  // grads[index] += grad (a freed node may have lost the count of its outputs: grow).
  static void add_gradient(Entry& e, int index, py::object grad) {
    const size_t i = static_cast<size_t>(index);
    if (i >= e.grads.size()) e.grads.resize(i + 1);
    py::object& slot = e.grads[i];
    if (!slot) {
      slot = std::move(grad);
      return;
    }
    PyObject* sum = PyNumber_Add(slot.ptr(), grad.ptr());
    if (!sum) throw py::error_already_set();
    slot = py::reinterpret_steal<py::object>(sum);
  }

  // The gradient tuple node.backward returned (an empty one when nothing flowed in).
  py::tuple call_backward(const py::object& node, bool multi, std::vector<py::object>& grads) {
    const bool received = std::any_of(grads.begin(), grads.end(),
                                      [](const py::object& g) { return bool(g); });
    if (!received) return py::tuple();  // nothing flowed into this node: its inputs get nothing
    if (multi) fill_missing(node, grads);
    const py::object backward = get(node, n_.backward);
    std::vector<PyObject*> call{node.ptr()};
    for (const py::object& g : grads) call.push_back(g.ptr());
    PyObject* r = PyObject_Vectorcall(backward.ptr(), call.data(), call.size(), nullptr);
    if (!r) throw py::error_already_set();
    py::object result = py::reinterpret_steal<py::object>(r);
    return PyTuple_Check(result.ptr()) ? py::reinterpret_steal<py::tuple>(result.release())
                                       : py::make_tuple(result);
  }

  // Outputs that received no gradient get zeros of their shape and dtype, on the device of one
  // that did, or None when the Function asks for that (materialize_grads = False).
  void fill_missing(const py::object& node, std::vector<py::object>& grads) const {
    const py::object outputs = get(node, n_.outputs);
    const bool materialize = get(node, n_.materialize_grads).ptr() == Py_True;
    const py::object like = *std::find_if(grads.begin(), grads.end(),
                                          [](const py::object& g) { return bool(g); });
    for (size_t i = 0; i < grads.size(); ++i) {
      if (grads[i]) continue;
      if (!materialize || outputs.is_none()) {
        grads[i] = py::none();
        continue;
      }
      if (!zeros_factory) throw std::runtime_error("autograd: no zeros factory registered");
      const py::tuple spec = py::reinterpret_borrow<py::tuple>(outputs)[i];
      PyObject* z = PyObject_CallFunctionObjArgs(zeros_factory, spec[0].ptr(), spec[1].ptr(),
                                                 like.ptr(), nullptr);
      if (!z) throw py::error_already_set();
      grads[i] = py::reinterpret_steal<py::object>(z);
    }
  }

  void step(const py::object& node, bool multi, bool leads_to_capture,
            std::vector<py::object>& grads, std::vector<PyObject*>& ready) {
    const py::object parents_obj = get(node, n_.parents);
    if (parents_obj.is_none()) {
      throw std::runtime_error("backward: the graph through " + type_name(node) +
                               " was already freed by an earlier backward(); pass "
                               "retain_graph=True to the first call to go through it twice");
    }
    const auto parents = py::reinterpret_borrow<py::tuple>(parents_obj);
    if (capturing_) capture_outputs(node, grads);
    py::tuple in_grads;
    if (!capturing_) {
      in_grads = call_backward(node, multi, grads);
    } else if (leads_to_capture) {  // else no input of it is wanted
      py::tuple mask(parents.size());
      bool any = false;
      for (size_t i = 0; i < parents.size(); ++i) {
        const bool w = wanted(parents[i].ptr());
        mask[i] = py::bool_(w);
        any = any || w;
      }
      if (any) {  // (a node that leads only to its own captured output has nothing to pass)
        set(node, n_.grad_mask, mask);
        // Unset however backward ends: a retained graph walked again must not see it.
        struct Unmask {
          const py::object& node;
          const py::str& name;
          ~Unmask() {
            if (PyObject_SetAttr(node.ptr(), name.ptr(), Py_None) != 0) PyErr_Clear();
          }
        } unmask{node, n_.grad_mask};
        in_grads = call_backward(node, multi, grads);
      }
    }
    const py::ssize_t given = static_cast<py::ssize_t>(in_grads.size());
    for (py::ssize_t i = 0; i < static_cast<py::ssize_t>(parents.size()); ++i) {
      const py::handle parent = parents[i];
      if (!is_tensor(parent.ptr())) continue;
      const py::object parent_node = node_of(parent.ptr());
      py::object pg = i < given ? py::reinterpret_borrow<py::object>(in_grads[i]) : py::none();
      Entry* e = parent_node.is_none() ? nullptr : &nodes_.at(parent_node.ptr());
      if (!pg.is_none() && wanted(parent.ptr())) {
        pg = conform(node, parent, std::move(pg));
        if (!e) {
          if (capturing_) {
            capture_leaf(parent, pg);
          } else {
            accumulate_leaf(parent, pg, grads);
          }
          continue;
        }
        const int index = e->multi ? output_index_of(parent.ptr()) : 0;
        add_gradient(*e, index, std::move(pg));
      }
      if (e && --e->pending == 0 && !e->queued) {
        e->queued = true;
        ready.push_back(parent_node.ptr());
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

  // A captured output of `node` gets the gradient its consumers passed on (before zeros are
  // filled in for outputs that received none).
  void capture_outputs(const py::object& node, const std::vector<py::object>& grads) {
    for (const py::object& g : grads) {
      if (g) passed_on_.insert(g.ptr());
    }
    for (size_t i = 0; i < grads.size(); ++i) {
      const auto it = captured_outputs_.find({node.ptr(), static_cast<int>(i)});
      if (it == captured_outputs_.end() || !grads[i]) continue;
      for (const size_t position : it->second) results_[position] = grads[i];
    }
  }

  void capture_leaf(const py::handle& leaf, const py::object& pg) {
    const auto it = captured_leaves_.find(leaf.ptr());
    if (it == captured_leaves_.end()) return;  // not asked for: no .grad is touched either
    for (const size_t position : it->second) {  // a tensor may be asked for twice
      py::object& slot = results_[position];
      if (!slot) {
        slot = pg;
        continue;
      }
      PyObject* sum = PyNumber_Add(slot.ptr(), pg.ptr());
      if (!sum) throw py::error_already_set();
      slot = py::reinterpret_steal<py::object>(sum);
    }
  }

  // The gradient checked against its input's shape and cast to its dtype.
  py::object conform(const py::object& node, const py::handle& parent, py::object pg) const {
    pg = as_array(std::move(pg));  // a 0-d leaf's .grad must hold an array, not a NumPy scalar
    const py::object data = data_of(parent.ptr());
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

  void accumulate_leaf(const py::handle& leaf, const py::object& pg,
                       const std::vector<py::object>& received) {
    const py::object existing = get(leaf, n_.grad);
    if (existing.is_none()) {
      // The gradient is handed to the user, who may change it in place: it must not share
      // memory with an array still in use elsewhere.
      const bool passed_through =
          std::any_of(received.begin(), received.end(),
                      [&](const py::object& g) { return g.ptr() == pg.ptr(); });
      const bool owned = !passed_through && get(pg, n_.base).is_none() &&
                         given_to_leaves_.count(pg.ptr()) == 0;
      given_to_leaves_.insert(pg.ptr());
      set(leaf, n_.grad, new_tensor(owned ? pg : get(pg, n_.copy)(), false, py::none()));
    } else {
      PyObject* sum = PyNumber_Add(get(existing, n_.data).ptr(), pg.ptr());
      if (!sum) throw py::error_already_set();
      set(existing, n_.data, as_array(py::reinterpret_steal<py::object>(sum)));
    }
  }

  struct PairHash {
    size_t operator()(const std::pair<PyObject*, int>& p) const {
      return std::hash<PyObject*>()(p.first) ^ (std::hash<int>()(p.second) << 1);
    }
  };

  bool retain_graph_;
  const Names& n_;
  std::unordered_map<PyObject*, Entry> nodes_;
  std::unordered_set<PyObject*> given_to_leaves_;
  // Capturing (fastdl.grad): where each asked-for tensor's gradient goes, and what reached it.
  bool capturing_ = false;
  std::unordered_map<PyObject*, std::vector<size_t>> captured_leaves_;
  std::unordered_map<std::pair<PyObject*, int>, std::vector<size_t>, PairHash> captured_outputs_;
  std::vector<py::object> results_;
  std::unordered_set<PyObject*> passed_on_;  // gradients some node received
};

// ----------------------------------------------------------------------------- apply

// The `apply` of one Function subclass. A C type rather than a Python function so that a call
// costs no interpreter frame; it binds like a method (Py_TPFLAGS_METHOD_DESCRIPTOR), so that it
// can serve directly as a Tensor operator (Tensor.__mul__ = Mul.apply).
struct ApplyObject {
  PyObject_HEAD
  PyObject* cls;      // the Function subclass
  PyObject* forward;  // its forward, a plain function
  PyObject* doc;
  PyObject* qualname;
  vectorcallfunc vectorcall;
};

// Where an array lives, for the one-device rule of Function.apply: a Tensor holds a NumPy array
// (the CPU) or a GPU array (CuPy's); anything else passed positionally that is a NumPy array is
// on the CPU, and scalars and other values go with either.
enum class Device { none, cpu, cuda };

const char* device_name(Device d) { return d == Device::cuda ? "cuda" : "cpu"; }

Device device_of(PyObject* array, bool from_tensor) {
  if (PyObject_TypeCheck(array, ndarray_type)) return Device::cpu;
  return from_tensor ? Device::cuda : Device::none;
}

// RuntimeError naming the operation and both devices: nothing moves between devices
// implicitly.
[[noreturn]] void mixed_devices(const ApplyObject* self, Device first, Py_ssize_t first_arg,
                                Device other, Py_ssize_t other_arg) {
  throw std::runtime_error(
      py::str(py::handle(self->cls).attr("__name__")).cast<std::string>() +
      ": expected all operands on one device, " +
      "but argument " + std::to_string(first_arg) + " is on " + device_name(first) +
      " and argument " + std::to_string(other_arg) + " on " + device_name(other) +
      "; move them with .to('" + device_name(first) + "') or .to('" + device_name(other) + "')");
}

// Runs forward(ctx, *arrays, **kwargs): Tensor arguments replaced by their data, after checking
// that the positional arrays share one device.
py::object call_forward(const ApplyObject* self, const py::handle& ctx, PyObject* const* args,
                        Py_ssize_t nargs, PyObject* kwnames) {
  const Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  std::vector<py::object> held;  // references to the arrays taken out of Tensors
  held.reserve(static_cast<size_t>(nargs));
  PyObject* small[8];
  std::vector<PyObject*> large;
  const Py_ssize_t total = 1 + nargs + nkw;
  PyObject** call = total <= 8 ? small : (large.resize(static_cast<size_t>(total)), large.data());
  call[0] = ctx.ptr();
  Device device = Device::none;
  Py_ssize_t device_arg = 0;
  for (Py_ssize_t i = 0; i < nargs; ++i) {
    const bool tensor = is_tensor(args[i]);
    if (tensor) {
      held.push_back(data_of(args[i]));
      call[1 + i] = held.back().ptr();
    } else {
      call[1 + i] = args[i];
    }
    const Device d = device_of(call[1 + i], tensor);
    if (d == Device::none) continue;
    if (device == Device::none) {
      device = d;
      device_arg = i;
    } else if (d != device) {
      mixed_devices(self, device, device_arg, d, i);
    }
  }
  for (Py_ssize_t j = 0; j < nkw; ++j) call[1 + nargs + j] = args[nargs + j];
  PyObject* r = PyObject_Vectorcall(self->forward, call, static_cast<size_t>(1 + nargs), kwnames);
  if (!r) throw py::error_already_set();
  return py::reinterpret_steal<py::object>(r);
}

// The outputs of a forward that returned a tuple: a tuple of Tensors. Floating outputs of a
// recorded node are its outputs in the graph (the node keeps their shapes and dtypes, to make
// zero gradients for those the loss does not reach); the others are plain tensors.
py::object multi_output(const py::object& ctx, const py::tuple& arrays, bool requires) {
  const Names& n = names();
  const py::ssize_t count = static_cast<py::ssize_t>(arrays.size());
  py::tuple tensors(count), specs(count);
  for (py::ssize_t i = 0; i < count; ++i) {
    const py::object data = as_array(py::reinterpret_borrow<py::object>(arrays[i]));
    const py::object dtype = get(data, n.dtype);
    const bool differentiable = requires && equal(get(dtype, n.kind), py::str("f"));
    tensors[i] = new_tensor(data, differentiable, differentiable ? ctx : py::none(),
                            static_cast<int>(i));
    specs[i] = py::make_tuple(get(data, n.shape), dtype);
  }
  if (requires) set(ctx, n.outputs, specs);
  return std::move(tensors);
}

py::object apply(const ApplyObject* self, PyObject* const* args, Py_ssize_t nargs,
                 PyObject* kwnames) {
  const Names& n = names();
  registered_tensor_type();
  bool requires = false;
  if (grad_enabled) {
    for (Py_ssize_t i = 0; i < nargs && !requires; ++i)
      requires = is_tensor(args[i]) && requires_grad_of(args[i]);
  }
  // The node: an instance of the Function subclass, made as object.__new__(cls) would.
  static PyObject* no_args = PyTuple_New(0);
  PyObject* c = PyBaseObject_Type.tp_new(reinterpret_cast<PyTypeObject*>(self->cls), no_args,
                                         nullptr);
  if (!c) throw py::error_already_set();
  const py::object ctx = py::reinterpret_steal<py::object>(c);
  set(ctx, n.requires_grad, py::bool_(requires));

  py::object data = call_forward(self, ctx, args, nargs, kwnames);
  if (requires) {
    PyObject* parents = PyTuple_New(nargs);
    if (!parents) throw py::error_already_set();
    const py::object parents_obj = py::reinterpret_steal<py::object>(parents);
    for (Py_ssize_t i = 0; i < nargs; ++i) {
      Py_INCREF(args[i]);
      PyTuple_SET_ITEM(parents, i, args[i]);
    }
    set(ctx, n.parents, parents_obj);
  }
  if (PyTuple_Check(data.ptr())) {
    return multi_output(ctx, py::reinterpret_borrow<py::tuple>(data), requires);
  }
  return new_tensor(as_array(std::move(data)), requires, requires ? ctx : py::none());
}

PyObject* apply_vectorcall(PyObject* self, PyObject* const* args, size_t nargsf,
                           PyObject* kwnames) {
  try {
    return apply(reinterpret_cast<ApplyObject*>(self), args, PyVectorcall_NARGS(nargsf), kwnames)
        .release()
        .ptr();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

PyObject* apply_descr_get(PyObject* self, PyObject* obj, PyObject* /*type*/) {
  if (!obj || obj == Py_None) {  // looked up on a class: the function itself
    Py_INCREF(self);
    return self;
  }
  return PyMethod_New(self, obj);
}

int apply_traverse(PyObject* self, visitproc visit, void* arg) {
  auto* a = reinterpret_cast<ApplyObject*>(self);
  Py_VISIT(a->cls);
  Py_VISIT(a->forward);
  return 0;
}

int apply_clear(PyObject* self) {
  auto* a = reinterpret_cast<ApplyObject*>(self);
  Py_CLEAR(a->cls);
  Py_CLEAR(a->forward);
  Py_CLEAR(a->doc);
  Py_CLEAR(a->qualname);
  return 0;
}

void apply_dealloc(PyObject* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  apply_clear(self);
  type->tp_free(self);
  Py_DECREF(type);  // instances of a heap type hold a reference to it
}

PyObject* apply_get_doc(PyObject* self, void*) {
  PyObject* doc = reinterpret_cast<ApplyObject*>(self)->doc;
  Py_INCREF(doc);
  return doc;
}

PyObject* apply_get_qualname(PyObject* self, void*) {
  PyObject* q = reinterpret_cast<ApplyObject*>(self)->qualname;
  Py_INCREF(q);
  return q;
}

PyObject* apply_repr(PyObject* self) {
  return PyUnicode_FromFormat("<fastdl apply %U>", reinterpret_cast<ApplyObject*>(self)->qualname);
}

PyTypeObject* apply_type() {
  static PyGetSetDef getset[] = {
      {"__doc__", apply_get_doc, nullptr, nullptr, nullptr},
      {"__qualname__", apply_get_qualname, nullptr, nullptr, nullptr},
      {nullptr, nullptr, nullptr, nullptr, nullptr},
  };
  static PyMemberDef members[] = {
      {"__vectorcalloffset__", T_PYSSIZET,
       static_cast<Py_ssize_t>(offsetof(ApplyObject, vectorcall)), READONLY, nullptr},
      {nullptr, 0, 0, 0, nullptr},
  };
  static PyType_Slot slots[] = {
      {Py_tp_call, reinterpret_cast<void*>(PyVectorcall_Call)},
      {Py_tp_descr_get, reinterpret_cast<void*>(apply_descr_get)},
      {Py_tp_traverse, reinterpret_cast<void*>(apply_traverse)},
      {Py_tp_clear, reinterpret_cast<void*>(apply_clear)},
      {Py_tp_dealloc, reinterpret_cast<void*>(apply_dealloc)},
      {Py_tp_getset, getset},
      {Py_tp_members, members},
      {Py_tp_repr, reinterpret_cast<void*>(apply_repr)},
      {0, nullptr},
  };
  static PyType_Spec spec = {
      "fastdl._C.FunctionApply", static_cast<int>(sizeof(ApplyObject)), 0,
      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL |
          Py_TPFLAGS_METHOD_DESCRIPTOR,
      slots};
  static PyTypeObject* type = reinterpret_cast<PyTypeObject*>(PyType_FromSpec(&spec));
  if (!type) throw py::error_already_set();
  return type;
}

py::object make_apply(const py::object& cls, const py::object& forward, const py::str& doc) {
  auto* a = PyObject_GC_New(ApplyObject, apply_type());
  if (!a) throw py::error_already_set();
  a->cls = cls.inc_ref().ptr();
  a->forward = forward.inc_ref().ptr();
  a->doc = doc.inc_ref().ptr();
  a->qualname = py::str(py::str(cls.attr("__name__")) + py::str(".apply")).release().ptr();
  a->vectorcall = apply_vectorcall;
  PyObject_GC_Track(a);
  return py::reinterpret_steal<py::object>(reinterpret_cast<PyObject*>(a));
}

}  // namespace

py::object tensor_outside_graph(py::object data) {
  return new_tensor(as_array(std::move(data)), false, py::none());
}

void bind_autograd(py::module_& m) {
  const py::module_ numpy = py::module_::import("numpy");
  ndarray_type = reinterpret_cast<PyTypeObject*>(py::object(numpy.attr("ndarray")).release().ptr());
  numpy_asarray = py::object(numpy.attr("asarray")).release().ptr();

  m.def(
      "register_tensor_type",
      [](const py::type& type) {
        tensor_slots = TensorSlots{slot_offset(type, "data"),          slot_offset(type, "grad"),
                                   slot_offset(type, "requires_grad"), slot_offset(type, "_node"),
                                   slot_offset(type, "_output_index"),
                                   slot_offset(type, "_keras_mask")};
        tensor_type = reinterpret_cast<PyTypeObject*>(type.inc_ref().ptr());
      },
      py::arg("type"), "Tells the autograd core which class is fastdl.Tensor.");
  m.def(
      "register_zeros_factory",
      [](const py::object& factory) { zeros_factory = factory.inc_ref().ptr(); },
      py::arg("factory"),
      "Tells the autograd core how to make zero gradients: factory(shape, dtype, like) returns "
      "zeros on the device of the array `like`.");
  m.def("is_grad_enabled", [] { return grad_enabled; },
        "Whether operations record the graph.");
  m.def(
      "set_grad_enabled",
      [](bool enabled) {
        const bool previous = grad_enabled;
        grad_enabled = enabled;
        return previous;
      },
      py::arg("enabled"), "Turns graph recording on or off; returns the previous mode.");
  m.def(
      "tensor_of",
      &tensor_outside_graph, py::arg("data"),
      "A Tensor around the array `data` (not copied), outside the graph: for results computed "
      "from arrays, which carry no gradient.");
  m.def("make_apply", &make_apply, py::arg("cls"), py::arg("forward"), py::arg("doc"),
        "The `apply` of a Function subclass: runs forward on the arguments' arrays and wraps "
        "the result in a Tensor, recording the node when gradients are wanted.");
  m.def(
      "run_backward",
      [](const py::object& root_node, int output_index, const py::object& grad,
         bool retain_graph) {
        Engine(retain_graph).run({Seed{root_node, output_index, grad}});
      },
      py::arg("root_node"), py::arg("output_index"), py::arg("grad"), py::arg("retain_graph"),
      "Backpropagates `grad` from output `output_index` of the graph node `root_node` into the "
      "leaves' .grad (see fastdl.autograd).");
  m.def(
      "run_grad",
      [](const py::list& seeds, const py::sequence& inputs, bool retain_graph) {
        std::vector<Seed> starts;
        for (const py::handle s : seeds) {
          const auto seed = py::reinterpret_borrow<py::tuple>(s);
          starts.push_back(Seed{py::reinterpret_borrow<py::object>(seed[0]),
                                seed[1].cast<int>(), py::reinterpret_borrow<py::object>(seed[2])});
        }
        Engine engine(retain_graph, py::tuple(inputs));
        engine.run(starts);
        return engine.results();
      },
      py::arg("seeds"), py::arg("inputs"), py::arg("retain_graph"),
      "The gradients of the seeds' outputs ((node, output index, gradient) triples) with "
      "respect to the Tensors `inputs` (TypeError naming one that is not), as a tuple of "
      "Tensors (None where nothing reached), without touching any .grad (see fastdl.grad).");
}

}  // namespace fastdl::bindings
