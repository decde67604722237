// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "../utils/Vm.sol";
import {TicketBroker} from "../../src/TicketBroker.sol";

/// @notice Drives a TicketBroker with random funding, unlocks, withdrawals, single and batch
/// redemptions (including replays of already redeemed tickets) by three senders to three
/// recipients, and keeps ghost totals the invariants compare against.
contract BrokerHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 internal constant REDEEMED_TOPIC = keccak256("WinningTicketRedeemed(bytes32,address,address,uint256,uint256)");

    TicketBroker public immutable broker;
    uint256[3] internal senderKeys = [uint256(0x5E1), 0x5E2, 0x5E3];
    address[3] public senders;
    address[3] public recipients = [address(0xE1), address(0xE2), address(0xE3)];

    // Tickets issued so far, so replays can pick one.
    TicketBroker.Ticket[] internal issued;
    bytes[] internal issuedSigs;
    uint256 internal nonce;

    // Ghost accounting.
    uint256 public ghostFunded;
    uint256 public ghostWithdrawn;
    uint256 public ghostPaid;
    uint256 public ghostRedemptions;
    uint256 public ghostDoubleRedemptions;
    uint256 public ghostWithdrawals;
    mapping(bytes32 => bool) public ghostRedeemed;

    constructor(TicketBroker broker_) {
        broker = broker_;
        for (uint256 i; i < 3; ++i) {
            senders[i] = vm.addr(senderKeys[i]);
            vm.deal(senders[i], 1e30);
        }
    }

    function fundDeposit(uint256 who, uint256 amount) external {
        address s = senders[who % 3];
        amount = 1 + amount % 50 ether;
        vm.prank(s);
        broker.fundDeposit{value: amount}();
        ghostFunded += amount;
    }

    function fundReserve(uint256 who, uint256 amount) external {
        address s = senders[who % 3];
        amount = 1 + amount % 50 ether;
        vm.prank(s);
        broker.fundReserve{value: amount}();
        ghostFunded += amount;
    }

    /// Unlocks only when the broker would accept it, so the run spends its calls on real moves.
    function unlock(uint256 who) external {
        address s = senders[who % 3];
        TicketBroker.Sender memory info = broker.getSender(s);
        if (info.withdrawAfter != 0 || info.deposit + info.reserve == 0) return;
        vm.prank(s);
        broker.unlock();
    }

    function cancelUnlock(uint256 who) external {
        address s = senders[who % 3];
        if (broker.getSender(s).withdrawAfter == 0) return;
        vm.prank(s);
        broker.cancelUnlock();
    }

    /// Withdraws an unlocking sender, jumping to the end of its unlock period if needed.
    function withdraw(uint256 who) external {
        address s = senders[who % 3];
        uint256 withdrawAfter = broker.getSender(s).withdrawAfter;
        if (withdrawAfter == 0) return;
        if (block.timestamp < withdrawAfter) vm.warp(withdrawAfter);
        uint256 before = s.balance;
        vm.prank(s);
        broker.withdraw();
        ghostWithdrawn += s.balance - before;
        ghostWithdrawals++;
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + secs % 2 days);
    }

    /// Issues a fresh ticket and redeems it. `winSeed` makes about a quarter of tickets lose.
    function redeem(uint256 who, uint256 to, uint256 face, uint256 winSeed) external {
        (TicketBroker.Ticket memory t, bytes memory sig, uint256 rand) = _issue(who, to, face, winSeed);
        _redeemOne(t, sig, rand);
    }

    /// Submits an already issued ticket again (most of them already redeemed).
    function replay(uint256 index) external {
        if (issued.length == 0) return;
        index %= issued.length;
        TicketBroker.Ticket memory t = issued[index];
        _redeemOne(t, issuedSigs[index], _randOf(t.senderNonce));
    }

    /// Redeems up to five tickets at once: fresh ones mixed with replays and in-batch duplicates.
    function batch(uint256 who, uint256 to, uint256 face, uint256 winSeed, uint8 size) external {
        uint256 n = 1 + size % 5;
        TicketBroker.Ticket[] memory ts = new TicketBroker.Ticket[](n);
        bytes[] memory sigs = new bytes[](n);
        uint256[] memory rands = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            if (i > 0 && (winSeed >> i) % 4 == 0) {
                (ts[i], sigs[i], rands[i]) = (ts[i - 1], sigs[i - 1], rands[i - 1]); // duplicate
            } else if (issued.length > 0 && (winSeed >> i) % 4 == 1) {
                uint256 k = (face >> i) % issued.length;
                (ts[i], sigs[i], rands[i]) = (issued[k], issuedSigs[k], _randOf(issued[k].senderNonce));
            } else {
                (ts[i], sigs[i], rands[i]) = _issue(who % 3 + i, to % 3 + i / 2, face >> i, winSeed >> (i * 8));
            }
        }
        uint256[3] memory before = _recipientBalances();
        vm.recordLogs();
        broker.batchRedeemWinningTickets(ts, sigs, rands);
        _countRedemptions(vm.getRecordedLogs());
        _addPaid(before);
    }

    // ------------------------------------------------------------ helpers

    function _issue(uint256 who, uint256 to, uint256 face, uint256 winSeed)
        internal
        returns (TicketBroker.Ticket memory t, bytes memory sig, uint256 rand)
    {
        uint256 n = ++nonce;
        rand = _randOf(n);
        t = TicketBroker.Ticket({
            recipient: recipients[to % 3],
            sender: senders[who % 3],
            faceValue: 1 + face % 20 ether,
            winProb: winSeed % 4 == 0 ? type(uint256).max / 2 : type(uint256).max,
            senderNonce: n,
            recipientRandHash: keccak256(abi.encode(rand)),
            expiry: block.timestamp + 1 days
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(senderKeys[who % 3], broker.ticketHash(t));
        sig = abi.encodePacked(r, s, v);
        issued.push(t);
        issuedSigs.push(sig);
    }

    function _randOf(uint256 n) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode("rand", n)));
    }

    function _redeemOne(TicketBroker.Ticket memory t, bytes memory sig, uint256 rand) internal {
        uint256[3] memory before = _recipientBalances();
        vm.recordLogs();
        try broker.redeemWinningTicket(t, sig, rand) {} catch {}
        _countRedemptions(vm.getRecordedLogs());
        _addPaid(before);
    }

    function _countRedemptions(Vm.Log[] memory logs) internal {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(broker) || logs[i].topics[0] != REDEEMED_TOPIC) continue;
            bytes32 h = logs[i].topics[1];
            if (ghostRedeemed[h]) ghostDoubleRedemptions++;
            ghostRedeemed[h] = true;
            ghostRedemptions++;
        }
    }

    function _recipientBalances() internal view returns (uint256[3] memory b) {
        for (uint256 i; i < 3; ++i) b[i] = recipients[i].balance;
    }

    function _addPaid(uint256[3] memory before) internal {
        for (uint256 i; i < 3; ++i) ghostPaid += recipients[i].balance - before[i];
    }
}
