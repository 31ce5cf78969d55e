#include "onnxpress/ir/Graph.h"

#include <algorithm>
#include <cassert>
#include <queue>
#include <unordered_set>

namespace onnxpress {

// ---- Attribute ---------------------------------------------------------------------------

namespace {
Attribute named(std::string name, Attribute::Kind kind) {
  Attribute a;
  a.name = std::move(name);
  a.kind = kind;
  return a;
}
}  // namespace

Attribute Attribute::makeInt(std::string name, int64_t v) {
  Attribute a = named(std::move(name), Kind::Int);
  a.i = v;
  return a;
}
Attribute Attribute::makeFloat(std::string name, float v) {
  Attribute a = named(std::move(name), Kind::Float);
  a.f = v;
  return a;
}
Attribute Attribute::makeString(std::string name, std::string v) {
  Attribute a = named(std::move(name), Kind::String);
  a.s = std::move(v);
  return a;
}
Attribute Attribute::makeInts(std::string name, std::vector<int64_t> v) {
  Attribute a = named(std::move(name), Kind::Ints);
  a.ints = std::move(v);
  return a;
}
Attribute Attribute::makeFloats(std::string name, std::vector<float> v) {
  Attribute a = named(std::move(name), Kind::Floats);
  a.floats = std::move(v);
  return a;
}
Attribute Attribute::makeTensor(std::string name, onnxpress::Tensor t) {
  Attribute a = named(std::move(name), Kind::Tensor);
  a.tensors.push_back(std::move(t));
  return a;
}
Attribute Attribute::makeGraph(std::string name, std::unique_ptr<onnxpress::Graph> g) {
  Attribute a = named(std::move(name), Kind::Graph);
  a.graphs.push_back(std::move(g));
  return a;
}

// ---- Value -------------------------------------------------------------------------------

bool Value::isGraphOutput() const {
  return std::any_of(uses_.begin(), uses_.end(),
                     [this](const Use& u) { return u.node == nullptr && u.graph == graph_; });
}

void Value::removeUse(const Use& use) {
  auto it = std::find(uses_.begin(), uses_.end(), use);
  assert(it != uses_.end() && "use-list out of sync");
  if (it != uses_.end()) uses_.erase(it);
}

// ---- Node --------------------------------------------------------------------------------

std::string Node::describe() const {
  if (!name_.empty()) return opType_ + " '" + name_ + "'";
  if (!outputs_.empty() && outputs_[0]) return opType_ + " producing '" + outputs_[0]->name() + "'";
  return opType_ + " (unnamed)";
}

void Node::setInput(size_t i, Value* v) {
  assert(i < inputs_.size());
  if (inputs_[i]) inputs_[i]->removeUse({this, nullptr, i});
  inputs_[i] = v;
  if (v) v->uses_.push_back({this, nullptr, i});
}

void Node::addInput(Value* v) {
  inputs_.push_back(nullptr);
  setInput(inputs_.size() - 1, v);
}

void Node::removeLastInput() {
  assert(!inputs_.empty());
  setInput(inputs_.size() - 1, nullptr);
  inputs_.pop_back();
}

Value* Node::addOutput(const std::string& name) {
  if (name.empty()) {
    outputs_.push_back(nullptr);
    return nullptr;
  }
  Value* v = graph_->newValue(graph_->findValue(name) ? graph_->uniqueName(name) : name);
  v->producer_ = this;
  v->producerIndex_ = outputs_.size();
  outputs_.push_back(v);
  return v;
}

const Attribute* Node::attribute(const std::string& name) const {
  for (const auto& a : attributes_)
    if (a.name == name) return &a;
  return nullptr;
}
Attribute* Node::attribute(const std::string& name) {
  for (auto& a : attributes_)
    if (a.name == name) return &a;
  return nullptr;
}
void Node::setAttribute(Attribute attr) {
  if (Attribute* existing = attribute(attr.name)) {
    *existing = std::move(attr);
    return;
  }
  attributes_.push_back(std::move(attr));
}
bool Node::removeAttribute(const std::string& name) {
  auto it = std::find_if(attributes_.begin(), attributes_.end(),
                         [&](const Attribute& a) { return a.name == name; });
  if (it == attributes_.end()) return false;
  attributes_.erase(it);
  return true;
}
int64_t Node::intAttr(const std::string& name, int64_t fallback) const {
  const Attribute* a = attribute(name);
  return a && a->kind == Attribute::Kind::Int ? a->i : fallback;
}
float Node::floatAttr(const std::string& name, float fallback) const {
  const Attribute* a = attribute(name);
  return a && a->kind == Attribute::Kind::Float ? a->f : fallback;
}
std::string Node::stringAttr(const std::string& name, const std::string& fallback) const {
  const Attribute* a = attribute(name);
  return a && a->kind == Attribute::Kind::String ? a->s : fallback;
}
std::vector<int64_t> Node::intsAttr(const std::string& name, std::vector<int64_t> fallback) const {
  const Attribute* a = attribute(name);
  return a && a->kind == Attribute::Kind::Ints ? a->ints : fallback;
}
std::vector<Graph*> Node::subgraphs() const {
  std::vector<Graph*> out;
  for (const auto& a : attributes_)
    for (const auto& g : a.graphs) out.push_back(g.get());
  return out;
}

// ---- Graph -------------------------------------------------------------------------------

Graph::~Graph() {
  // Destroy nodes (and their subgraphs) before values; no use-list upkeep is needed
  // because everything referenced from here dies with this graph or outlives it unused.
  nodes_.clear();
  values_.clear();
}

Value* Graph::newValue(const std::string& name) {
  values_.push_back(std::unique_ptr<Value>(new Value(this, name)));
  Value* v = values_.back().get();
  v->position_ = std::prev(values_.end());
  if (!name.empty()) byName_[name] = v;
  return v;
}

Value* Graph::addInput(const std::string& name, Type type) {
  Value* v = findValue(name);
  if (!v) v = newValue(name);
  v->isInput_ = true;
  v->type_ = std::move(type);
  inputs_.push_back(v);
  return v;
}

void Graph::removeInput(Value* v) {
  assert(v->isInput_ && !v->hasUses());
  inputs_.erase(std::remove(inputs_.begin(), inputs_.end(), v), inputs_.end());
  v->isInput_ = false;
  if (!v->initializer_ && !v->sparse_) destroyValue(v);
}

void Graph::addOutput(Value* v) {
  outputs_.push_back(v);
  v->uses_.push_back({nullptr, this, outputs_.size() - 1});
}

void Graph::setOutput(size_t i, Value* v) {
  assert(i < outputs_.size());
  outputs_[i]->removeUse({nullptr, this, i});
  outputs_[i] = v;
  v->uses_.push_back({nullptr, this, i});
}

Value* Graph::addInitializer(Tensor tensor) {
  Value* v = findValue(tensor.name());
  if (!v) v = newValue(tensor.name());
  v->initializer_ = std::make_unique<Tensor>(std::move(tensor));
  initializers_.push_back(v);
  return v;
}

void Graph::removeInitializer(Value* v) {
  initializers_.erase(std::remove(initializers_.begin(), initializers_.end(), v), initializers_.end());
  v->initializer_.reset();
  if (!v->hasUses() && !v->isInput_ && !v->producer_) destroyValue(v);
}

Value* Graph::addSparseInitializer(SparseTensor tensor) {
  const std::string name = tensor.values.name();
  Value* v = findValue(name);
  if (!v) v = newValue(name);
  v->sparse_ = std::make_unique<SparseTensor>(std::move(tensor));
  sparse_.push_back(v);
  return v;
}

void Graph::removeSparseInitializer(Value* v) {
  sparse_.erase(std::remove(sparse_.begin(), sparse_.end(), v), sparse_.end());
  v->sparse_.reset();
  if (!v->hasUses() && !v->isInput_ && !v->producer_) destroyValue(v);
}

void Graph::addValueInfo(Value* v) { valueInfos_.push_back(v); }

void Graph::removeValueInfo(Value* v) {
  valueInfos_.erase(std::remove(valueInfos_.begin(), valueInfos_.end(), v), valueInfos_.end());
}

std::vector<Node*> Graph::nodeList() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

Node* Graph::createNode(const std::string& opType, const std::vector<Value*>& inputs, size_t numOutputs,
                        Node* before, const std::string& domain) {
  auto it = before ? before->position_ : nodes_.end();
  auto pos = nodes_.insert(it, std::unique_ptr<Node>(new Node(this, opType, domain)));
  Node* node = pos->get();
  node->position_ = pos;
  for (Value* v : inputs) node->addInput(v);
  for (size_t i = 0; i < numOutputs; ++i) node->addOutput(uniqueName(opType + "_out"));
  return node;
}

Node* Graph::createNodeWithOutputs(const std::string& opType, const std::string& domain,
                                   const std::vector<std::string>& outputNames) {
  nodes_.push_back(std::unique_ptr<Node>(new Node(this, opType, domain)));
  Node* node = nodes_.back().get();
  node->position_ = std::prev(nodes_.end());
  for (const auto& name : outputNames) node->addOutput(name);
  return node;
}

namespace {
// Removes every use that `g` (and its nested subgraphs) makes of any value.
void dropUsesMadeBy(Graph& g) {
  for (Node* n : g.nodes()) {
    for (size_t i = 0; i < n->numInputs(); ++i)
      if (n->input(i)) n->setInput(i, nullptr);
    for (Graph* sub : n->subgraphs()) dropUsesMadeBy(*sub);
  }
}
}  // namespace

void Graph::destroyNode(Node* node) {
  assert(node->graph_ == this);
  for (size_t i = 0; i < node->numInputs(); ++i)
    if (node->input(i)) node->setInput(i, nullptr);
  for (Graph* sub : node->subgraphs()) {
    for (size_t i = 0; i < sub->outputs_.size(); ++i) sub->outputs_[i]->removeUse({nullptr, sub, i});
    sub->outputs_.clear();
    dropUsesMadeBy(*sub);
  }
  for (Value* out : node->outputs_) {
    if (!out) continue;
    assert(!out->hasUses() && "destroyNode: an output is still used");
    removeValueInfo(out);
    out->producer_ = nullptr;
    destroyValue(out);
  }
  nodes_.erase(node->position_);
}

void Graph::moveBefore(Node* node, Node* before) {
  nodes_.splice(before->position_, nodes_, node->position_);
}

Value* Graph::findValue(const std::string& name) const {
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

Value* Graph::lookup(const std::string& name) const {
  for (const Graph* g = this; g; g = g->parent_)
    if (Value* v = g->findValue(name)) return v;
  return nullptr;
}

std::string Graph::uniqueName(const std::string& base) const {
  if (!lookup(base)) return base;
  for (;;) {
    std::string candidate = base + "_" + std::to_string(++nameCounter_);
    if (!lookup(candidate)) return candidate;
  }
}

bool Graph::rename(Value* v, const std::string& name) {
  assert(v->graph_ == this);
  if (!parent_ && (v->isInput_ || v->isGraphOutput())) return false;
  if (lookup(name)) return false;
  if (!v->name_.empty()) byName_.erase(v->name_);
  v->name_ = name;
  byName_[name] = v;
  if (v->initializer_) v->initializer_->setName(name);
  if (v->sparse_) v->sparse_->values.setName(name);
  return true;
}

Value* Graph::createDetachedValue(const std::string& name) { return newValue(name); }

void Graph::destroyValue(Value* v) {
  assert(v->graph_ == this && !v->hasUses());
  removeValueInfo(v);
  auto it = byName_.find(v->name_);
  if (it != byName_.end() && it->second == v) byName_.erase(it);
  values_.erase(v->position_);
}

bool Graph::replaceAllUsesWith(Value* from, Value* to) {
  Graph* owner = from->graph_;
  if (!owner->parent_ && from->isGraphOutput()) {
    if (to->graph_ != owner || to->isInput_ || to->isGraphOutput() || to->initializer_ || to->sparse_)
      return false;
    const std::string protectedName = from->name_;
    owner->byName_.erase(protectedName);
    from->name_ = owner->uniqueName(protectedName + "_replaced");
    owner->byName_[from->name_] = from;
    owner->byName_.erase(to->name_);
    to->name_ = protectedName;
    owner->byName_[protectedName] = to;
  }
  const std::vector<Use> uses = from->uses_;
  for (const Use& u : uses) {
    if (u.node) {
      u.node->setInput(u.index, to);
    } else {
      u.graph->setOutput(u.index, to);
    }
  }
  return true;
}

void Graph::forEachGraph(const std::function<void(Graph&)>& fn) {
  fn(*this);
  for (Node* n : nodes())
    for (Graph* sub : n->subgraphs()) sub->forEachGraph(fn);
}

void Graph::forEachGraph(const std::function<void(const Graph&)>& fn) const {
  fn(*this);
  for (Node* n : nodes())
    for (Graph* sub : n->subgraphs()) static_cast<const Graph*>(sub)->forEachGraph(fn);
}

namespace {
// Nodes of `owner` whose outputs `g` (a subgraph, at any depth) reads.
void collectOuterProducers(const Graph& g, const Graph* owner, std::vector<Node*>& out) {
  for (Node* n : g.nodes()) {
    for (Value* v : n->inputs())
      if (v && v->graph() == owner && v->producer()) out.push_back(v->producer());
    for (Graph* sub : n->subgraphs()) collectOuterProducers(*sub, owner, out);
  }
  for (Value* v : g.outputs())
    if (v->graph() == owner && v->producer()) out.push_back(v->producer());
}
}  // namespace

Expected<std::vector<Node*>> Graph::topologicalOrder() const {
  std::unordered_map<const Node*, size_t> index;
  std::vector<Node*> list = nodeList();
  for (size_t i = 0; i < list.size(); ++i) index[list[i]] = i;
  std::vector<std::vector<size_t>> users(list.size());
  std::vector<size_t> pending(list.size(), 0);
  for (size_t i = 0; i < list.size(); ++i) {
    std::vector<Node*> producers;
    for (Value* v : list[i]->inputs())
      if (v && v->graph() == this && v->producer()) producers.push_back(v->producer());
    for (Graph* sub : list[i]->subgraphs()) collectOuterProducers(*sub, this, producers);
    std::sort(producers.begin(), producers.end());
    producers.erase(std::unique(producers.begin(), producers.end()), producers.end());
    for (Node* p : producers) {
      users[index.at(p)].push_back(i);
      ++pending[i];
    }
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < list.size(); ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<Node*> order;
  order.reserve(list.size());
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order.push_back(list[i]);
    for (size_t u : users[i])
      if (--pending[u] == 0) ready.push(u);
  }
  if (order.size() != list.size()) {
    for (size_t i = 0; i < list.size(); ++i)
      if (pending[i] != 0) return invalidInput("graph has a cycle through node {}", list[i]->describe());
  }
  return order;
}

namespace {
bool isVisibleFrom(const Value* v, const Graph* g) {
  for (const Graph* s = g; s; s = s->parent())
    if (v->graph() == s) return true;
  return false;
}
}  // namespace

Status Graph::verify() const {
  for (const auto& [name, v] : byName_)
    if (v->name() != name || v->graph() != this) return internalError("name table out of sync for '{}'", name);
  for (const auto& n : nodes_) {
    if (n->graph_ != this) return internalError("node {} has the wrong owner", n->describe());
    for (size_t i = 0; i < n->inputs_.size(); ++i) {
      Value* v = n->inputs_[i];
      if (!v) continue;
      if (!isVisibleFrom(v, this))
        return internalError("node {} reads '{}' which is not in scope", n->describe(), v->name());
      if (std::find(v->uses_.begin(), v->uses_.end(), Use{n.get(), nullptr, i}) == v->uses_.end())
        return internalError("use-list of '{}' misses node {}", v->name(), n->describe());
    }
    for (size_t i = 0; i < n->outputs_.size(); ++i) {
      Value* v = n->outputs_[i];
      if (v && (v->producer_ != n.get() || v->producerIndex_ != i))
        return internalError("producer of '{}' out of sync", v->name());
    }
    for (Graph* sub : n->subgraphs()) {
      if (sub->parent_ != this) return internalError("subgraph of {} has the wrong parent", n->describe());
      RETURN_IF_ERROR(sub->verify());
    }
  }
  for (const auto& v : values_) {
    for (const Use& u : v->uses_) {
      if (u.node && (u.node->input(u.index) != v.get()))
        return internalError("stale use of '{}' by {}", v->name(), u.node->describe());
      if (!u.node && (u.index >= u.graph->outputs_.size() || u.graph->outputs_[u.index] != v.get()))
        return internalError("stale graph-output use of '{}'", v->name());
    }
  }
  for (size_t i = 0; i < outputs_.size(); ++i)
    if (!isVisibleFrom(outputs_[i], this)) return internalError("graph output '{}' not in scope", outputs_[i]->name());
  auto order = topologicalOrder();
  return order ? Status::ok() : order.status();
}

// ---- clone -------------------------------------------------------------------------------

namespace {
Attribute cloneAttribute(const Attribute& a, Graph* newOwner,
                         std::unordered_map<const Value*, Value*>& map);
}

Attribute Attribute::clone(Graph* owner) const {
  std::unordered_map<const Value*, Value*> map;
  return cloneAttribute(*this, owner, map);
}

std::unique_ptr<Graph> Graph::clone(Graph* parent) const {
  auto copy = std::make_unique<Graph>(parent ? parent : parent_);
  std::unordered_map<const Value*, Value*> map;
  cloneInto(*copy, map);
  return copy;
}

void Graph::cloneInto(Graph& copy, std::unordered_map<const Value*, Value*>& map) const {
  copy.name_ = name_;
  copy.docString_ = docString_;
  copy.annotations_ = annotations_;
  copy.unknownFields_ = unknownFields_;
  auto copyValueInfo = [](const Value* from, Value* to) {
    to->type_ = from->type_;
    to->docString_ = from->docString_;
  };
  for (Value* in : inputs_) {
    Value* v = copy.addInput(in->name(), in->type());
    copyValueInfo(in, v);
    map[in] = v;
  }
  for (Value* init : initializers_) {
    Value* v = copy.addInitializer(init->initializer()->clone());
    if (!init->isInput_) copyValueInfo(init, v);
    map[init] = v;
  }
  for (Value* sp : sparse_) map[sp] = copy.addSparseInitializer(sp->sparse_->clone());
  for (const auto& n : nodes_) {
    std::vector<std::string> names;
    for (Value* out : n->outputs_) names.push_back(out ? out->name() : "");
    Node* c = copy.createNodeWithOutputs(n->opType_, n->domain_, names);
    c->name_ = n->name_;
    c->docString_ = n->docString_;
    c->overload_ = n->overload_;
    c->unknownFields_ = n->unknownFields_;
    for (size_t i = 0; i < names.size(); ++i)
      if (n->outputs_[i]) {
        copyValueInfo(n->outputs_[i], c->outputs_[i]);
        map[n->outputs_[i]] = c->outputs_[i];
      }
  }
  for (const auto& v : values_)  // values with only value_info (no producer)
    if (!map.count(v.get())) {
      Value* c = copy.newValue(v->name());
      copyValueInfo(v.get(), c);
      map[v.get()] = c;
    }
  auto resolve = [&](Value* v) -> Value* {
    auto it = map.find(v);
    return it != map.end() ? it->second : v;  // outer-scope value kept as is
  };
  auto copyIt = copy.nodes_.begin();
  for (const auto& n : nodes_) {
    Node* c = (copyIt++)->get();
    for (Value* in : n->inputs_) c->addInput(in ? resolve(in) : nullptr);
    for (const auto& a : n->attributes_) c->attributes_.push_back(cloneAttribute(a, &copy, map));
  }
  for (Value* out : outputs_) copy.addOutput(resolve(out));
  copy.untypedOutputs_ = untypedOutputs_;
  for (Value* vi : valueInfos_) copy.valueInfos_.push_back(resolve(vi));
}

namespace {
Attribute cloneAttribute(const Attribute& a, Graph* newOwner,
                         std::unordered_map<const Value*, Value*>& map) {
  Attribute c;
  c.name = a.name;
  c.kind = a.kind;
  c.docString = a.docString;
  c.refAttrName = a.refAttrName;
  c.f = a.f;
  c.i = a.i;
  c.s = a.s;
  c.floats = a.floats;
  c.ints = a.ints;
  c.strings = a.strings;
  c.types = a.types;
  for (const auto& t : a.tensors) c.tensors.push_back(t.clone());
  for (const auto& s : a.sparseTensors) c.sparseTensors.push_back(s.clone());
  for (const auto& g : a.graphs) {
    auto sub = std::make_unique<Graph>(newOwner);
    g->cloneInto(*sub, map);
    c.graphs.push_back(std::move(sub));
  }
  return c;
}
}  // namespace

}  // namespace onnxpress
