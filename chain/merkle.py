"""Merkle trees as OpenZeppelin builds them (@openzeppelin/merkle-tree's SimpleMerkleTree).

Leaves are 32-byte hashes, sorted; the tree is a complete binary tree kept in one array
with the leaves at its end (last leaf first), each parent ``keccak256(min(a, b) ++ max(a, b))``.
A proof is the list of siblings from the leaf up; OpenZeppelin's ``MerkleProof`` checks it
on chain, and ``verify`` here (or any sorted-pair keccak check) checks it anywhere.
"""
from eth_hash.auto import keccak


def hash_pair(a, b):
    return keccak(a + b) if a < b else keccak(b + a)


class Tree:
    def __init__(self, leaves):
        leaves = [bytes(leaf) for leaf in leaves]
        if not leaves:
            raise ValueError("a tree needs at least one leaf")
        if any(len(leaf) != 32 for leaf in leaves):
            raise ValueError("leaves are 32-byte hashes")
        if len(set(leaves)) != len(leaves):
            raise ValueError("leaves must be distinct")
        leaves.sort()
        size = 2 * len(leaves) - 1
        tree = [b""] * size
        for index, leaf in enumerate(leaves):
            tree[size - 1 - index] = leaf
        for index in range(size - 1 - len(leaves), -1, -1):
            tree[index] = hash_pair(tree[2 * index + 1], tree[2 * index + 2])
        self._tree = tree
        self._position = {leaf: size - 1 - index for index, leaf in enumerate(leaves)}

    @property
    def root(self):
        return self._tree[0]

    def __len__(self):
        return len(self._position)

    def proof(self, leaf):
        """The siblings from ``leaf`` up to the root."""
        index = self._position[bytes(leaf)]
        proof = []
        while index > 0:
            sibling = index + 1 if index % 2 else index - 1
            proof.append(self._tree[sibling])
            index = (index - 1) // 2
        return proof


def verify(root, leaf, proof):
    node = bytes(leaf)
    for sibling in proof:
        node = hash_pair(node, bytes(sibling))
    return node == bytes(root)
