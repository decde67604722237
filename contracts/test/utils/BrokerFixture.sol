// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {TicketBroker} from "../../src/TicketBroker.sol";

/// @notice A broker with a funded sender and helpers to build, sign and redeem tickets.
abstract contract BrokerFixture is Test {
    uint256 internal constant UNLOCK_PERIOD = 1 days;
    uint256 internal constant RESERVE_RECIPIENTS = 4;
    /// Wins for every signature except one whose hash is all ones.
    uint256 internal constant ALWAYS_WINS = type(uint256).max;

    TicketBroker internal broker;
    uint256 internal senderKey = 0xA11CE;
    address internal sender;
    address internal recipient = address(0xB0B);
    address internal recipient2 = address(0xCAFE);
    uint256 internal nonce;

    function setUp() public virtual {
        broker = new TicketBroker(UNLOCK_PERIOD, RESERVE_RECIPIENTS);
        sender = vm.addr(senderKey);
        vm.label(sender, "sender");
        vm.label(recipient, "recipient");
        vm.deal(sender, 1_000 ether);
    }

    function fundDeposit(uint256 amount) internal {
        vm.prank(sender);
        broker.fundDeposit{value: amount}();
    }

    function fundReserve(uint256 amount) internal {
        vm.prank(sender);
        broker.fundReserve{value: amount}();
    }

    /// @dev A fresh ticket (new nonce) for `to` with the given face value that always wins.
    function ticketFor(address to, uint256 faceValue, uint256 rand) internal returns (TicketBroker.Ticket memory) {
        return TicketBroker.Ticket({
            recipient: to,
            sender: sender,
            faceValue: faceValue,
            winProb: ALWAYS_WINS,
            senderNonce: ++nonce,
            recipientRandHash: keccak256(abi.encode(rand)),
            expiry: block.timestamp + 1 hours
        });
    }

    function sign(uint256 key, TicketBroker.Ticket memory t) internal view returns (bytes memory) {
        return signDigest(key, broker.ticketHash(t));
    }

    function redeem(TicketBroker.Ticket memory t, uint256 rand) internal {
        broker.redeemWinningTicket(t, sign(senderKey, t), rand);
    }
}
